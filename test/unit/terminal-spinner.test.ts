/**
 * The spinner is loaded on first use (ora is not imported at start-up):
 * it appears once ora has loaded, and a spinner that ends before that still
 * ends as a drawn one would, with its line on stderr.
 */
import { describe, expect, it } from 'vitest';
import { Terminal, type OutputStream } from '../../src/cli/terminal.js';

function tty() {
  const chunks: string[] = [];
  const stream = {
    isTTY: true,
    columns: 80,
    getColorDepth: () => 8,
    write: (chunk: string) => (chunks.push(chunk), true),
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
    on: () => stream,
    once: () => stream,
    removeListener: () => stream,
  };
  return { chunks, stream: stream as unknown as OutputStream };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const plain = { NO_COLOR: '1' };

describe('Terminal spinner', () => {
  it('draws the spinner on stderr once ora has loaded, and ends it with a ✔ line', async () => {
    const out = tty();
    const err = tty();
    const term = new Terminal({ env: plain, stdout: out.stream, stderr: err.stream });
    expect(term.interactive).toBe(true);
    term.progress('working');
    await until(() => err.chunks.join('').includes('working'), 'the spinner');
    term.progress('still working');
    term.succeed('done');
    const written = err.chunks.join('');
    expect(written).toContain('✔ done');
    expect(out.chunks.join('')).toBe('');
  });

  it('ends a spinner that ended before ora loaded with the same ✔ line, and never draws it afterwards', async () => {
    const err = tty();
    const term = new Terminal({ env: plain, stdout: tty().stream, stderr: err.stream });
    term.progress('quick');
    term.succeed('done quickly');
    expect(err.chunks.join('')).toBe('✔ done quickly\n');
    // Once ora is surely loaded (and the terminal's own load has settled), nothing more is drawn.
    await import('ora');
    await new Promise((resolve) => setImmediate(resolve));
    expect(err.chunks.join('')).toBe('✔ done quickly\n');
  });

  it('fails a pending spinner with a ✖ line, or silently without text', async () => {
    const err = tty();
    const term = new Terminal({ env: plain, stdout: tty().stream, stderr: err.stream });
    term.progress('doomed');
    term.fail('it broke');
    term.progress('again');
    term.fail();
    await import('ora');
    await new Promise((resolve) => setImmediate(resolve));
    expect(err.chunks.join('')).toBe('✖ it broke\n');
  });
});
