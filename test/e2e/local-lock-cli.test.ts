import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.js';

let home: string;

beforeAll(async () => {
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-lock-cli-'));
});
afterAll(async () => {
  await fs.rm(home, { recursive: true, force: true });
});

describe('tenant local with a lock left by a dead process', () => {
  it('status says the lock is stale; stop --force takes it over instead of waiting', async () => {
    // What a command killed between taking and labelling the lock left behind.
    await fs.mkdir(path.join(home, 'lock'));
    const env = { TENANT_HOME: home };

    const status = await runCli(['local', 'status'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/lock\s+stale: the lock folder names no owner/);

    const json = await runCli(['local', 'status', '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ lock: { state: 'stale' } });

    const stop = await runCli(['local', 'stop', '--force'], env);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain('not running');
    await expect(fs.access(path.join(home, 'lock'))).rejects.toThrow();
  });
});
