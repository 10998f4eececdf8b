/**
 * The built reference server (`bin/tenant-server`) as a subprocess on a free
 * loopback port, so a test can prove the process itself survives a fault.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { cliEnv } from './run-cli.js';
import { REPO_ROOT } from './test-environment.js';

/** A fixed access-token key for spawned test servers (32 bytes, base64); it signs nothing outside tests. */
export const TEST_TOKEN_KEY = crypto.createHash('sha256').update('metapus-tenant test access-token key').digest().toString('base64');

export interface ServerProcess {
  base: string;
  child: ChildProcess;
  /** true while the process has not exited. */
  readonly alive: boolean;
  /** Everything it wrote on stderr so far (its log). */
  readonly log: string;
  /** SIGTERM, and waits for the exit code. */
  stop(): Promise<number | null>;
}

/** `env` may set API_TOKEN_KEY; by default the server signs with TEST_TOKEN_KEY (log in with api-session.ts). */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'tenant-server')], {
    env: cliEnv({ API_TOKEN_KEY: TEST_TOKEN_KEY, ...env, PORT: '0', HOST: '127.0.0.1' }),
    cwd: path.join(REPO_ROOT, 'test'),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      resolve(code);
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const match = /listening on [^\s]*:(\d+)/.exec(log);
      if (match) resolve(Number(match[1]));
    });
    void exited.then(() => reject(new Error(`tenant-server exited before listening:\n${log}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    child,
    get alive() {
      return exitCode === undefined;
    },
    get log() {
      return log;
    },
    async stop() {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      return exited;
    },
  };
}
