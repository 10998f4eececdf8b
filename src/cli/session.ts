/**
 * One CLI command run: terminal, validated config, live runtime (embedded
 * cluster or configured server), actor, and an abort signal for Ctrl-C.
 * Everything is released in `finally`.
 */
import os from 'node:os';
import type { Command } from 'commander';
import type { Config, RawConfig } from '../config.js';
import type { Runtime } from '../runtime/runtime.js';
import { loadRuntime } from './load-runtime.js';
import { Terminal } from './terminal.js';

export interface GlobalOptions {
  verbose?: boolean;
  quiet?: boolean;
  color?: boolean;
  env?: string;
  /** The older spelling of --env (Node itself may intercept it: see program.ts). */
  envFile?: string;
  json?: boolean;
  actor?: string;
}

export interface CliState {
  exitCode: number;
  term: Terminal;
  /** The signal that interrupted the command, if one did (SIGTERM exits 143, not 130). */
  signal?: NodeJS.Signals;
}

export interface Session {
  term: Terminal;
  config: Config;
  runtime: Runtime;
  actor: string;
  signal: AbortSignal;
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

export function terminalFor(command: Command): Terminal {
  const opts = globalOptions(command);
  return new Terminal({ json: opts.json === true, verbose: opts.verbose === true, quiet: opts.quiet === true, color: opts.color !== false });
}

/** Reads the configuration (loaded here, with dotenv, only by a command that needs it). */
export async function configFor(command: Command, overrides: RawConfig = {}): Promise<Config> {
  const { loadConfig } = await import('../config.js');
  const opts = globalOptions(command);
  const envFile = opts.env ?? opts.envFile;
  return loadConfig({ ...(envFile !== undefined ? { envFile } : {}), overrides });
}

export function resolveActor(explicit: string | undefined): string {
  if (explicit?.trim()) return explicit.trim();
  try {
    return os.userInfo().username || process.env.USER || 'unknown';
  } catch {
    return process.env.USER || 'unknown';
  }
}

/** Runs fn with a live session; returns the exit code fn returns. */
export async function withSession(command: Command, state: CliState, fn: (session: Session) => Promise<number | void>): Promise<void> {
  const term = terminalFor(command);
  state.term = term;
  const config = await configFor(command);
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts === 1) {
      state.signal = signal;
      term.note(
        signal === 'SIGINT'
          ? 'interrupted: stopping and cleaning up (Ctrl-C again to force quit)'
          : `${signal} received: stopping and cleaning up (send it again to force quit)`,
      );
      controller.abort(new Error('interrupted'));
    } else {
      process.exit(signalExitCode(signal));
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let runtime: Runtime | undefined;
  try {
    // pg and the runtime load only for a command that uses a database.
    const { openRuntime } = await loadRuntime();
    runtime = await openRuntime(config, { onNotice: (message) => term.info(message), component: 'cli' });
    const code = await fn({ term, config, runtime, actor: resolveActor(globalOptions(command).actor), signal: controller.signal });
    state.exitCode = typeof code === 'number' ? code : 0;
  } finally {
    term.stopSpinner();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await runtime?.close();
  }
}

/** 128 + the signal number, as shells report it: 130 for SIGINT, 143 for SIGTERM. */
export function signalExitCode(signal: NodeJS.Signals | undefined): number {
  return signal === 'SIGTERM' ? 143 : 130;
}
