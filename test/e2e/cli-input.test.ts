/**
 * Bad input is refused by the real `bin/tenant` (run as a program, shebang
 * and all) with exit 2, before any database or embedded-cluster work: there
 * is no META_DATABASE_URL, and TENANT_HOME must not even be created.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../support/pty.js';
import { cliEnv, type CliResult } from '../support/run-cli.js';

let dir: string;
let home: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-input-'));
  home = path.join(dir, 'home');
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Executes bin/tenant itself, as a shell would (no `node` in front). */
function tenant(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: cliEnv({ TENANT_HOME: home, ...env }), cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('error:'));

async function expectNothingStarted(): Promise<void> {
  await expect(fs.access(home)).rejects.toThrow();
}

describe('bad input, refused before any cluster starts', () => {
  it.each([['-1'], ['abc'], ['1e999']])('`show x --audit %s` exits 2 naming the range', async (value) => {
    const result = await tenant(['show', 'x', '--audit', value]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--audit must be a whole number from 1 to 1000');
    await expectNothingStarted();
  });

  it.each([
    ['create', '--port', '0'],
    ['create', '--port', '99999999999999999999'],
    ['migrate', 'history', '--limit', '-5'],
  ])('`%s %s %s` exits 2 from the same parser', async (...args) => {
    const result = await tenant(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/must be a whole number from \d+ to \d+/);
    await expectNothingStarted();
  });

  it('refuses a missing --slug or --yes without a terminal, with a hint', async () => {
    const create = await tenant(['create', '--name', 'No Slug']);
    expect(create.code).toBe(2);
    expect(create.stderr).toContain('--slug is required (no terminal to ask on)');
    expect(create.stderr).toContain('hint:');
    const del = await tenant(['delete', 'acme-corp']);
    expect(del.code).toBe(2);
    expect(del.stderr).toContain('--yes is required');
    expect(del.stderr).toContain('hint: add --yes');
    await expectNothingStarted();
  });

  it('refuses control characters in --actor and --reason, and never echoes them raw', async () => {
    for (const args of [
      ['suspend', 'acme-corp', '--actor', 'eve\u001b[2J'],
      ['suspend', 'acme-corp', '--reason', 'ok\u009b31m'],
      ['delete', 'acme-corp', '--yes', '--actor', 'line\nbreak'],
    ]) {
      const result = await tenant(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('must not contain control characters');
      expect(result.stderr).not.toMatch(/[\u001b\u009b]/);
    }
    await expectNothingStarted();
  });
});

describe('--env <path> (and its older spelling --env-file)', () => {
  it.each([
    ['a missing file', () => path.join(dir, 'missing.env'), 'not found'],
    ['a folder', () => dir, 'is a folder, not a file'],
  ])('names %s in one line with exit 2', async (_what, file, why) => {
    for (const args of [
      ['list', '--env', file()],
      ['--env', file(), 'list'],
    ]) {
      const result = await tenant(args);
      expect(result.code).toBe(2);
      expect(errorLines(result.stderr)).toEqual([`error: env file "${file()}" ${why}`]);
      expect(result.stderr).not.toContain('node:');
    }
    await expectNothingStarted();
  });

  it('reads the named file, under either name', async () => {
    const file = path.join(dir, 'bad.env');
    await fs.writeFile(file, 'TENANT_MAX_POOLS=abc\n');
    for (const flag of ['--env', '--env-file']) {
      const result = await tenant(['list', flag, file]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('TENANT_MAX_POOLS must be a whole number from 1 to 100000, got "abc"');
    }
    await expectNothingStarted();
  });
});
