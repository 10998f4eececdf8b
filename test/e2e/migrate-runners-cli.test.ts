/**
 * The runner options of `tenant migrate` (--shard, --canary,
 * --max-failure-rate, --min-sample, --wave, --lease, --wait-timeout, the
 * --per-server / --per-host pair), `migrate down`'s refusal of them, and
 * `migrate status`'s own options: a bad value is refused by the real
 * `bin/tenant` with exit 2 and one error line naming the flag and what it
 * takes, before any database or embedded-cluster work (no META_DATABASE_URL,
 * and TENANT_HOME is never even created).
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
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-runners-'));
  home = path.join(dir, 'home');
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function tenant(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv({ TENANT_HOME: home }), cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function expectRefused(args: string[], message: string): Promise<void> {
  const result = await tenant(args);
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
  const errors = result.stderr.split('\n').filter((l) => l.startsWith('error:'));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toContain(message);
  expect(result.stdout).toBe('');
  await expect(fs.access(home), 'nothing started').rejects.toThrow();
}

const SHARD = '--shard must be i/n with 1 <= i <= n <= 10000, like 2/4';
const CANARY = '--canary takes a count from 1 to 1000000 or tenant slugs (acme,globex)';
const RATE = '--max-failure-rate must be a percentage from 0 to 100, like 5 or 5%';
const LEASE = '--lease must be a duration from 1s to 1d, like 30s or 10m';
const WAIT = '--wait-timeout must be a duration from 1s to 7d, like 30s or 10m (0: until the run ends)';

/** it.each rows titled by the arguments as typed. */
const titled = (cases: [string[], string][]) =>
  cases.map(([args, message]) => [args.map((a) => (a.trim() ? a : `'${a}'`)).join(' '), args, message] as const);

describe('runner options of `tenant migrate`, refused before anything starts', () => {
  it.each(
    titled([
      [['--shard', '0/3'], SHARD],
      [['--shard', '4/3'], SHARD],
      [['--shard', '3'], SHARD],
      [['--shard', 'one/two'], SHARD],
      [['--canary', '0'], CANARY],
      [['--canary', 'acme,,globex'], CANARY],
      [['--canary', '2', '--canary', 'acme'], 'not both'],
      [['--max-failure-rate', '101'], RATE],
      [['--max-failure-rate', '-5'], RATE],
      [['--max-failure-rate', 'lots'], RATE],
      [['--min-sample', '0'], '--min-sample must be a whole number from 1 to 1000000'],
      [['--wave', 'big'], '--wave must be a whole number from 1 to 1000000'],
      [['--lease', '0'], LEASE],
      [['--lease', '100ms'], LEASE],
      [['--lease', 'forever'], LEASE],
      [['--wait-timeout', '8d'], WAIT],
      [['--wait-timeout', 'soon'], WAIT],
      [['--per-server', '0'], '--per-server must be a whole number from 1 to 1000'],
      [['--per-host', '0'], '--per-host must be a whole number from 1 to 1000'],
      [['--per-host', '2', '--per-server', '3'], "option '--per-host <n>' cannot be used with option '--per-server <n>'"],
      [['--key', ' '], '--key takes 1 to 200 printable characters without spaces'],
      [['--key', 'release 42'], '--key takes 1 to 200 printable characters without spaces'],
    ]),
  )('`tenant migrate %s` exits 2 with one line', async (_title, args, message) => {
    await expectRefused(['migrate', ...args], message);
    // The same under the explicit `up`.
    await expectRefused(['migrate', 'up', ...args], message);
  });

  it.each(
    titled([
      [['--join', 'last'], '--join cannot be used with `migrate down`; a down run reverts named tenants with one runner'],
      [['--key', 'k'], '--key cannot be used with `migrate down`'],
      [['--lease', '3s'], '--lease cannot be used with `migrate down`'],
      [['--wait-timeout', '0'], '--wait-timeout cannot be used with `migrate down`'],
      [['--shard', '1/2'], '--shard cannot be used with `migrate down`; down reverts exactly the tenants you name'],
      [['--canary', '1'], '--canary cannot be used with `migrate down`'],
      [['--max-failure-rate', '5'], '--max-failure-rate cannot be used with `migrate down`'],
      [['--min-sample', '5'], '--min-sample cannot be used with `migrate down`'],
      [['--wave', '10'], '--wave cannot be used with `migrate down`'],
    ]),
  )('`tenant migrate down %s` is refused with a reason', async (_title, args, message) => {
    await expectRefused(['migrate', 'down', '--slug', 'acme', '--to', '0', '--yes', ...args], message);
  });

  it('offers the runner options in `migrate --help` and none of them in `migrate down --help`', async () => {
    const up = await tenant(['migrate', '--help']);
    expect(up.code).toBe(0);
    for (const flag of ['--join <run>', '--key <key>', '--lease <duration>', '--wait-timeout <duration>', '--per-server <n>', '--shard <i/n>']) {
      expect(up.stdout).toContain(flag);
    }
    expect(up.stdout).toContain('--canary <n|slugs>');
    expect(up.stdout).toContain('--max-failure-rate <pct>');
    // The older name still works but is no longer offered.
    expect(up.stdout).not.toContain('--per-host');
    const down = await tenant(['migrate', 'down', '--help']);
    expect(down.code).toBe(0);
    for (const flag of ['--join', '--key', '--lease', '--wait-timeout', '--shard', '--canary', '--max-failure-rate', '--min-sample', '--wave']) {
      expect(down.stdout).not.toContain(flag);
    }
    expect(down.stdout).toContain('--per-server <n>');
  });

  it('refuses a bad `migrate status` before opening anything', async () => {
    await expectRefused(['migrate', 'status'], "missing required argument 'run'");
    await expectRefused(['migrate', 'status', 'last', '--watch', '--interval', '10ms'], '--interval must be a duration from 100ms to 1h');
    const help = await tenant(['migrate', 'status', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--watch');
  });
});
