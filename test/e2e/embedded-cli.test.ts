import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../src/local/local-cluster.js';
import { runCli } from '../support/run-cli.js';

let home: string;
let env: Record<string, string>;

beforeAll(async () => {
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-home-'));
  await fs.chmod(home, 0o755);
  env = { TENANT_HOME: path.join(home, 'data') };
});

afterAll(async () => {
  await new LocalCluster({ home: env.TENANT_HOME as string }).stop({ force: true });
  await fs.rm(home, { recursive: true, force: true });
});

describe('the embedded default (no META_DATABASE_URL)', () => {
  it('initialises once when several commands start at the same time, and stops when the last one ends', async () => {
    const results = await Promise.all([
      runCli(['list', '--json'], env),
      runCli(['list', '--json'], env),
      runCli(['create', '--slug', 'first-tenant', '--name', 'First'], env),
    ]);
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`using the embedded PostgreSQL in ${env.TENANT_HOME}`);
    }
    const status = await new LocalCluster({ home: env.TENANT_HOME as string }).status();
    expect(status).toMatchObject({ initialised: true, running: false, users: 0 });
    const listed = await runCli(['list', '--json'], env);
    expect((JSON.parse(listed.stdout) as { slug: string }[]).map((t) => t.slug)).toEqual(['first-tenant']);
    const credentials = await fs.readFile(path.join(env.TENANT_HOME as string, 'cluster.json'), 'utf8');
    const { superPassword, appPassword } = JSON.parse(credentials) as Record<string, string>;
    for (const r of [...results, listed]) {
      expect(r.stdout + r.stderr).not.toContain(superPassword);
      expect(r.stdout + r.stderr).not.toContain(appPassword);
    }
  });

  it('keeps running after `local start` until `local stop`', async () => {
    const started = await runCli(['local', 'start'], env);
    expect(started.code).toBe(0);
    expect(started.stdout).toContain('embedded PostgreSQL running on 127.0.0.1:');
    await runCli(['list'], env);
    const status = await runCli(['local', 'status', '--json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, keep: true });
    const stopped = await runCli(['local', 'stop'], env);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain('stopped');
    const after = await runCli(['local', 'status', '--json'], env);
    expect(JSON.parse(after.stdout)).toMatchObject({ running: false });
  });
});
