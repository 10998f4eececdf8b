/**
 * Runs a test/support script (`node --import tsx`) that SIGKILLs itself at
 * some point, for the kill tests; resolves with the signal it died of and
 * everything it wrote.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { cliEnv } from './run-cli.js';
import { REPO_ROOT } from './test-environment.js';

export function runKilledChild(script: string, env: Record<string, string>): Promise<{ signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test/support', script)], {
      env: cliEnv(env),
      cwd: path.join(REPO_ROOT, 'test'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ signal, out }));
  });
}
