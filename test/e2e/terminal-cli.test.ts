/**
 * The CLI at a real (pseudo-)terminal: prompts, colour decisions, and a
 * reader that goes away (EPIPE).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../src/local/local-cluster.js';
import { BIN, HAS_PTY, runInPty, shellQuote, tenantInPty } from '../support/pty.js';
import { runCli, startCli } from '../support/run-cli.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-term-'));
  // The embedded cluster may run as another OS user (as root: postgres), who must reach its home.
  await fs.chmod(dir, 0o755);
  const created = await runCli(['create', '--slug', 'colour-corp', '--name', 'Colour Corp'], env.env);
  expect(created.code, created.stderr).toBe(0);
});

afterAll(async () => {
  await new LocalCluster({ home: embedded().TENANT_HOME }).stop({ force: true });
  await fs.rm(dir, { recursive: true, force: true });
  await env.cleanup();
});

/** An embedded cluster of this file's own (no META_DATABASE_URL). */
const embedded = () => ({ TENANT_HOME: path.join(dir, 'embedded') });

const ESC = '\u001b';
const count = (text: string, part: string) => text.split(part).length - 1;

describe.skipIf(!HAS_PTY)('on a terminal', () => {
  it('asks on stderr, re-asks a bad slug at the prompt, and leaves stdout with data only', async () => {
    const out = path.join(dir, 'out.txt');
    const session = tenantInPty(['create'], { ...env.env, NO_COLOR: '' }, `> '${out}'`);
    await session.waitFor('Slug');
    session.type('bad_slug\r');
    // Refused at the prompt, before the next question.
    await session.waitFor('may only contain lower-case letters');
    session.type('\u0015prompted-corp\r');
    await session.waitFor('Display name');
    session.type('Prompted Corp\r');
    const { code, output } = await session.done;
    expect(code, output).toBe(0);
    const data = await fs.readFile(out, 'utf8');
    expect(data).toContain('tenant prompted-corp created');
    expect(data).not.toContain('Slug');
    expect(data).not.toContain('Display name');
    expect(data).not.toContain(ESC);
    const listed = await runCli(['list', '--json'], env.env);
    expect((JSON.parse(listed.stdout) as { slug: string; name: string }[]).find((t) => t.slug === 'prompted-corp')?.name).toBe('Prompted Corp');
  });

  it.each([
    ['NO_COLOR=1', { NO_COLOR: '1' }],
    ['TERM=dumb', { NO_COLOR: '', TERM: 'dumb' }],
    ['FORCE_COLOR=0', { NO_COLOR: '', FORCE_COLOR: '0' }],
    ['--no-color', { NO_COLOR: '' }, ['--no-color']],
  ])('prints no escape code at all with %s, table borders and headers included', async (_label, vars, flags: string[] = []) => {
    const { code, output } = await tenantInPty(['list', ...flags], { ...env.env, ...vars }).done;
    expect(code, output).toBe(0);
    expect(output).toContain('colour-corp');
    expect(output).toContain('┌');
    expect(count(output, ESC)).toBe(0);
  });

  it('colours a terminal that supports it', async () => {
    const { code, output } = await tenantInPty(['list'], { ...env.env, NO_COLOR: '' }).done;
    expect(code, output).toBe(0);
    expect(output).toContain(`${ESC}[`);
  });
});

describe('colour decided per stream', () => {
  it('forces colour into a pipe with FORCE_COLOR=1..3, even over NO_COLOR', async () => {
    const forced = await runCli(['list'], { ...env.env, NO_COLOR: '1', FORCE_COLOR: '1' });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`${ESC}[`);
    const plain = await runCli(['list'], { ...env.env, NO_COLOR: '' });
    expect(plain.stdout).not.toContain(ESC);
  });
});

describe('a reader that goes away (EPIPE)', () => {
  async function closedEarly(args: string[], streams: ('stdout' | 'stderr')[], vars: Record<string, string> = env.env) {
    const child = startCli(args, vars);
    // Close our end of the pipe before the command writes anything: every write it makes fails with EPIPE.
    for (const name of streams) child[name]?.destroy();
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, stderr };
  }

  it('ends `show` and `list` quietly with the status they would have had when stdout closes', async () => {
    const shown = await closedEarly(['show', 'colour-corp'], ['stdout']);
    expect(shown.stderr).not.toMatch(/EPIPE|Error:/);
    expect(shown.code).toBe(0);
    // On the embedded cluster the command still has work after its last line (releasing the
    // cluster), which is where the unhandled EPIPE used to crash it, leaving the lock behind.
    const listed = await closedEarly(['list'], ['stdout'], embedded());
    expect(listed.stderr).not.toMatch(/EPIPE|Error:/);
    expect(listed.code).toBe(0);
    expect(await new LocalCluster({ home: embedded().TENANT_HOME }).status()).toMatchObject({ running: false, users: 0 });
  });

  it('keeps the exit status of a failure when both streams are gone', async () => {
    const missing = await closedEarly(['show', 'nobody-here'], ['stdout', 'stderr']);
    expect(missing.code).toBe(3);
  });

  it.skipIf(!HAS_PTY)('on a terminal, survives a pipe into a reader that has already gone', async () => {
    const status = path.join(dir, 'status.txt');
    const tenant = [process.execPath, BIN, 'list'].map(shellQuote).join(' ');
    // `true` exits without reading; by the time Node has started, the pipe has no reader.
    const { output } = await runInPty(`{ ${tenant}; echo $? > ${shellQuote(status)}; } | true`, embedded()).done;
    expect(output).not.toMatch(/EPIPE|Error:/);
    expect((await fs.readFile(status, 'utf8')).trim()).toBe('0');
  });
});
