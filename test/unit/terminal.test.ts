import { describe, expect, it } from 'vitest';
import { Terminal } from '../../src/cli/terminal.js';

function stream(isTTY: boolean, columns: number) {
  const chunks: string[] = [];
  return {
    chunks,
    stream: { isTTY, columns, write: (c: string) => (chunks.push(c), true) } as unknown as NodeJS.WriteStream,
  };
}

describe('Terminal', () => {
  it('uses spinners only on a real terminal with a width', () => {
    expect(new Terminal({ stdout: stream(true, 80).stream, stderr: stream(true, 80).stream }).interactive).toBe(!process.env.CI);
    expect(new Terminal({ stdout: stream(true, 0).stream, stderr: stream(true, 0).stream }).interactive).toBe(false);
    expect(new Terminal({ stdout: stream(false, 0).stream, stderr: stream(true, 80).stream }).interactive).toBe(false);
    expect(new Terminal({ json: true, stdout: stream(true, 80).stream, stderr: stream(true, 80).stream }).interactive).toBe(false);
  });

  it('redacts secrets in every line and keeps stdout clean in --json mode', () => {
    const out = stream(false, 0);
    const err = stream(false, 0);
    const term = new Terminal({ json: true, stdout: out.stream, stderr: err.stream });
    term.line('not printed in json mode');
    term.note('failed to reach postgres://app:hunter2@db/x');
    term.printJson({ url: 'postgres://app:hunter2@db/x' });
    expect(out.chunks.join('')).not.toContain('not printed');
    expect(out.chunks.join('') + err.chunks.join('')).not.toContain('hunter2');
    expect(JSON.parse(out.chunks.join(''))).toEqual({ url: 'postgres://app:***@db/x' });
  });
});
