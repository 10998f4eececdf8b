import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { guardStream } from '../../src/cli/closed-streams.js';
import { colourLevel, isCI } from '../../src/cli/colour.js';
import { Terminal, type OutputStream } from '../../src/cli/terminal.js';
import { tenantTable } from '../../src/cli/tenant-table.js';
import { fakeTenant } from '../support/fake-tenant.js';

function stream(isTTY: boolean, columns: number, depth = 8) {
  const chunks: string[] = [];
  const s = Object.assign(new EventEmitter(), {
    isTTY,
    columns,
    getColorDepth: () => depth,
    write: (c: string) => (chunks.push(c), true),
  });
  return { chunks, stream: s as unknown as OutputStream, emitter: s };
}

const TTY = () => stream(true, 80).stream;
const PIPE = () => stream(false, 0).stream;

describe('Terminal', () => {
  it('uses spinners only on a real terminal with a width, and not in CI', () => {
    const env = {};
    expect(new Terminal({ env, stdout: TTY(), stderr: TTY() }).interactive).toBe(true);
    expect(new Terminal({ env, stdout: stream(true, 0).stream, stderr: stream(true, 0).stream }).interactive).toBe(false);
    expect(new Terminal({ env, stdout: PIPE(), stderr: TTY() }).interactive).toBe(false);
    expect(new Terminal({ env, json: true, stdout: TTY(), stderr: TTY() }).interactive).toBe(false);
    expect(new Terminal({ env: { CI: 'true' }, stdout: TTY(), stderr: TTY() }).interactive).toBe(false);
  });

  it('does not take CI=false, CI=0 or an empty CI for CI', () => {
    for (const value of ['false', 'FALSE', '0', '']) {
      expect(isCI({ CI: value })).toBe(false);
      expect(new Terminal({ env: { CI: value }, stdout: TTY(), stderr: TTY(), stdin: { isTTY: true } }).stdinInteractive).toBe(true);
    }
    for (const value of ['true', '1', 'github']) expect(isCI({ CI: value })).toBe(true);
    expect(isCI({})).toBe(false);
  });

  it('redacts secrets in every line and keeps stdout clean in --json mode', () => {
    const out = stream(false, 0);
    const err = stream(false, 0);
    const term = new Terminal({ env: {}, json: true, stdout: out.stream, stderr: err.stream });
    term.line('not printed in json mode');
    term.note('failed to reach postgres://app:hunter2@db/x');
    term.printJson({ url: 'postgres://app:hunter2@db/x' });
    expect(out.chunks.join('')).not.toContain('not printed');
    expect(out.chunks.join('') + err.chunks.join('')).not.toContain('hunter2');
    expect(JSON.parse(out.chunks.join(''))).toEqual({ url: 'postgres://app:***@db/x' });
  });

  it('escapes DEL and C1 controls in JSON, which JSON.stringify leaves raw', () => {
    const out = stream(false, 0);
    new Terminal({ env: {}, json: true, stdout: out.stream, stderr: PIPE() }).printJson({ name: 'a\u009b31m\u007fb\u001b' });
    const text = out.chunks.join('');
    expect(text).not.toMatch(/[\u001b\u007f-\u009f]/);
    expect(JSON.parse(text)).toEqual({ name: 'a\u009b31m\u007fb\u001b' });
  });

  it('silences notices with quiet, but not warnings', () => {
    const err = stream(false, 0);
    const term = new Terminal({ env: {}, quiet: true, stdout: PIPE(), stderr: err.stream });
    term.info('using the embedded PostgreSQL');
    term.warn('something to know');
    expect(err.chunks.join('')).toBe('warning: something to know\n');
    const loud = stream(false, 0);
    new Terminal({ env: {}, stdout: PIPE(), stderr: loud.stream }).info('using the embedded PostgreSQL');
    expect(loud.chunks.join('')).toBe('using the embedded PostgreSQL\n');
  });

  it('stops writing to a stream that failed (EPIPE) instead of throwing', () => {
    const out = stream(false, 0);
    guardStream(out.emitter);
    const term = new Terminal({ env: {}, stdout: out.stream, stderr: PIPE() });
    term.line('first');
    out.emitter.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    term.line('second');
    term.printJson({ third: true });
    expect(out.chunks).toEqual(['first\n']);
  });
});

describe('colour decision, per stream', () => {
  it('gives none to a pipe or file, and the terminal its depth', () => {
    expect(colourLevel({ isTTY: false }, {})).toBe(0);
    expect(colourLevel({ isTTY: true, getColorDepth: () => 24 }, {})).toBe(3);
    expect(colourLevel({ isTTY: true, getColorDepth: () => 8 }, {})).toBe(2);
    expect(colourLevel({ isTTY: true, getColorDepth: () => 4 }, {})).toBe(1);
    expect(colourLevel({ isTTY: true, getColorDepth: () => 1 }, {})).toBe(0);
  });

  it('turns colour off with NO_COLOR, TERM=dumb, FORCE_COLOR=0 or --no-color', () => {
    const tty = { isTTY: true, getColorDepth: () => 8 };
    expect(colourLevel(tty, { NO_COLOR: '1' })).toBe(0);
    expect(colourLevel(tty, { TERM: 'dumb' })).toBe(0);
    expect(colourLevel(tty, { FORCE_COLOR: '0' })).toBe(0);
    expect(colourLevel(tty, { FORCE_COLOR: 'false' })).toBe(0);
    expect(colourLevel(tty, {}, false)).toBe(0);
    expect(colourLevel(tty, { FORCE_COLOR: '3' }, false)).toBe(0);
    // no-color.org: an empty NO_COLOR does not count.
    expect(colourLevel(tty, { NO_COLOR: '' })).toBe(2);
  });

  it('forces colour with FORCE_COLOR=1..3, even into a pipe and over NO_COLOR', () => {
    expect(colourLevel({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(1);
    expect(colourLevel({ isTTY: false }, { FORCE_COLOR: '2' })).toBe(2);
    expect(colourLevel({ isTTY: false }, { FORCE_COLOR: '3', NO_COLOR: '1', TERM: 'dumb' })).toBe(3);
  });

  it('decides stdout and stderr separately', () => {
    const term = new Terminal({ env: {}, stdout: PIPE(), stderr: TTY() });
    expect(term.c.level).toBe(0);
    expect(term.ec.level).toBe(2);
    const err = stream(false, 0);
    // Text coloured for a terminal loses its codes on a stream without colour.
    const piped = new Terminal({ env: {}, stdout: TTY(), stderr: err.stream });
    piped.note(piped.c.red('error: x'));
    expect(err.chunks.join('')).toBe('error: x\n');
  });

  it('draws table borders and headers without escape codes when there is no colour', () => {
    const off = new Terminal({ env: { NO_COLOR: '1' }, stdout: TTY(), stderr: TTY() });
    const table = tenantTable(off.c, [{ tenant: fakeTenant({ slug: 'acme' }), pending: 0 }], false);
    expect(table).toContain('┌');
    expect(table).not.toContain('\u001b');
  });
});
