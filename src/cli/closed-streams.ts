/**
 * stdout and stderr may close under us: `tenant show x | head -3` closes the
 * pipe after three lines, and a write then fails with EPIPE. That is not an
 * error of the command: the stream is marked closed, later writes to it are
 * skipped, and the command ends with the exit status it would have had.
 */
const closed = new WeakSet<object>();

export interface GuardedStream {
  on(event: 'error', listener: (err: Error) => void): unknown;
  destroyed?: boolean;
  writableEnded?: boolean;
}

/** Call once per stream, before anything is written to it. */
export function guardStream(stream: GuardedStream): void {
  // Any write error (EPIPE, EIO from a hung-up terminal, ...) means nobody can read us there.
  stream.on('error', () => closed.add(stream));
}

export function isClosed(stream: object): boolean {
  const s = stream as GuardedStream;
  return closed.has(stream) || s.destroyed === true || s.writableEnded === true;
}

/** Resolves when what was written has been handed to the OS (or at once if the stream is gone). */
export function flushed(stream: NodeJS.WritableStream): Promise<void> {
  if (isClosed(stream)) return Promise.resolve();
  return new Promise((resolve) => {
    stream.write('', () => resolve());
  });
}
