/**
 * Where a new user's password comes from: a hidden prompt on a terminal
 * (asked twice), or the first line of stdin with `--password-stdin` (scripts,
 * CI). Never an argument: arguments show in `ps`, in shell history and in
 * logs. The password is returned to the caller and nowhere printed.
 */
import { UsageError } from '../errors.js';
import type { Terminal } from './terminal.js';

/** More than the longest password anyone accepts (1024 characters of up to 4 bytes): stop reading. */
const MAX_LINE_BYTES = 4 * 1024 + 2;

/**
 * The first line of `stream`, without its line ending (`\n` or `\r\n`), or
 * everything up to the end when there is no newline. Stops reading at the
 * first newline, so a terminal need not send end-of-file.
 */
export function readFirstLine(stream: NodeJS.ReadableStream, maxBytes = MAX_LINE_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error?: Error) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.pause();
      if (error) return reject(error);
      const text = Buffer.concat(chunks).toString('utf8');
      const newline = text.indexOf('\n');
      resolve((newline === -1 ? text : text.slice(0, newline)).replace(/\r$/, ''));
    };
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(buffer);
      size += buffer.length;
      if (buffer.includes(0x0a)) return finish();
      if (size > maxBytes) finish(new UsageError('the password on stdin is too long (no newline within 4 KiB)'));
    };
    const onEnd = () => finish();
    const onError = (err: Error) => finish(err);
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
}

/** The password piped to `--password-stdin`; an empty line is refused. */
export async function passwordFromStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const line = await readFirstLine(stream);
  if (line === '') throw new UsageError('--password-stdin: stdin held no password (an empty first line)');
  return line;
}

/** Asks for a new password twice, hidden, on the terminal (stderr); re-asks until both match. */
export async function askNewPassword(term: Terminal): Promise<string> {
  const { password } = await import('@inquirer/prompts');
  const context = { output: term.promptOutput };
  for (;;) {
    const first = await password(
      { message: 'Password for the new user', validate: (value) => value.length > 0 || 'the password must not be empty' },
      context,
    );
    const again = await password({ message: 'Repeat the password' }, context);
    if (first === again) return first;
    term.note(term.ec.yellow('the passwords do not match; try again'));
  }
}
