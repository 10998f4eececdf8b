/** Runs the built `bin/tenant` as a subprocess, as a pipeline would (no TTY). */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './test-environment.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const BIN = path.join(REPO_ROOT, 'bin', 'tenant');
const CONFIG_VARS = /^(META_DATABASE_URL|POSTGRES_ADMIN_URL|TENANT_|PORT$)/;
/** What the CLI reads to decide prompts and colour: each test sets these itself, so CI (CI=true, FORCE_COLOR) runs the same tests. */
const TERMINAL_VARS = /^(CI|FORCE_COLOR|NO_COLOR|TERM)$/;

export function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !CONFIG_VARS.test(k) && !TERMINAL_VARS.test(k)));
  return { ...base, NO_COLOR: '1', ...env };
}

export function startCli(args: string[], env: Record<string, string>, stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  // cwd: a folder without .env so the developer's own file cannot leak in.
  return spawn(process.execPath, [BIN, ...args], { env: cliEnv(env), cwd: path.join(REPO_ROOT, 'test'), stdio: [stdin, 'pipe', 'pipe'] });
}

/** Runs the CLI to its end; `input`, when given, is what it reads on stdin (a pipe). */
export function runCli(args: string[], env: Record<string, string>, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = startCli(args, env, input === undefined ? 'ignore' : 'pipe');
    child.stdin?.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
