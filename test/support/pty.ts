/**
 * Runs a shell command on a pseudo-terminal (util-linux `script`), as a
 * person at a terminal would, and lets the test type answers when a prompt
 * shows. What the command writes to the terminal (stdout and stderr, unless
 * redirected) comes back as `output`.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { cliEnv } from './run-cli.js';
import { REPO_ROOT } from './test-environment.js';

/** `script` from util-linux (Linux); the BSD/macOS one takes other arguments. */
export const HAS_PTY = spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout?.includes('util-linux') ?? false;

export const BIN = path.join(REPO_ROOT, 'bin', 'tenant');

export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface PtySession {
  /** Resolves with the output so far once it contains `text`; rejects after the deadline. */
  waitFor(text: string, timeoutMs?: number): Promise<string>;
  type(keys: string): void;
  done: Promise<{ code: number | null; output: string }>;
}

export function runInPty(shellCommand: string, env: Record<string, string>): PtySession {
  // A real size: a zero-column terminal disables spinners (see terminal.ts).
  const command = `stty cols 120 rows 40 2>/dev/null; ${shellCommand}`;
  const child = spawn('script', ['-q', '-e', '-f', '-c', command, '/dev/null'], {
    env: cliEnv({ TERM: 'xterm-256color', ...env }),
    cwd: path.join(REPO_ROOT, 'test'),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters: { text: string; resolve: (s: string) => void }[] = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of [...waiters]) {
      if (output.includes(waiter.text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(output);
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const done = new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
  return {
    waitFor(text, timeoutMs = 60_000) {
      if (output.includes(text)) return Promise.resolve(output);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`timed out waiting for ${JSON.stringify(text)}; output so far:\n${output}`));
        }, timeoutMs);
        waiters.push({ text, resolve: (s) => (clearTimeout(timer), resolve(s)) });
      });
    },
    type(keys) {
      child.stdin.write(keys);
    },
    done: done.finally(() => child.stdin.end()),
  };
}

/** Runs `tenant <args>` on a terminal; `redirect` is appended to the command line (e.g. `> out.txt`). */
export function tenantInPty(args: string[], env: Record<string, string>, redirect = ''): PtySession {
  return runInPty(`exec ${shellQuote(process.execPath)} ${shellQuote(BIN)} ${args.map(shellQuote).join(' ')} ${redirect}`, env);
}
