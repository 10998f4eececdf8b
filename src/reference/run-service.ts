/**
 * What the reference server and worker entry points share: one log (JSON
 * lines through pino, redacted, stderr: logger.ts), a start that reports its failure
 * with the error's exit code, and the shutdown on SIGTERM/SIGINT:
 *
 * - the first signal asks the service to stop gracefully; it exits 0 when done;
 * - if stopping takes longer than `stopBoundMs`, it exits 1 anyway;
 * - a second signal exits 130 at once. The same signal again within
 *   `repeatWindowMs` is not a second one: on Ctrl-C under `npm run`, the
 *   terminal and npm (which forwards it) each deliver SIGINT.
 *
 * The process itself comes in as `host` (main.ts passes `process`), so the
 * exit stays with the entry point and the rules are tested without one.
 */
import { EXIT, TenantToolkitError, messageOf } from '../errors.js';
import { createLogger, logFunction, type Log, type Logger } from './logger.js';

export type { Log, Logger } from './logger.js';

export interface Service {
  /** Logged after the signal's name: what stopping does ("draining in-flight requests"). */
  readonly stopping: string;
  /** Stops gracefully; resolves with the last line to log. */
  stop(): Promise<string>;
}

export interface RunServiceOptions {
  /** Program name for the start failure line (`tenant-server`). */
  name: string;
  start(log: Log, logger: Logger): Promise<Service>;
  /** Upper bound for stop() after the first signal. */
  stopBoundMs: number;
  /** A repeat of the signal within this long is the same request (default 1s). */
  repeatWindowMs?: number;
}

export type ShutdownSignal = 'SIGTERM' | 'SIGINT';

export interface ProcessHost {
  on(event: ShutdownSignal, listener: () => void): unknown;
  exit(code: number): void;
  readonly stderr: { write(chunk: string): unknown };
}

/** The service's log on the host's stderr (JSON lines, pretty on a terminal; the level is set from LOG_LEVEL once the config is read). */
export function createLog(stderr: ProcessHost['stderr'], name = 'service'): { log: Log; logger: Logger } {
  const logger = createLogger({ name, stream: stderr, pretty: (stderr as { isTTY?: boolean }).isTTY === true });
  return { log: logFunction(logger), logger };
}

/** Starts the service and owns the process's shutdown; resolves once started (or once start failed). */
export async function runService(options: RunServiceOptions, host: ProcessHost): Promise<void> {
  const { log, logger } = createLog(host.stderr, options.name);
  const repeatWindowMs = options.repeatWindowMs ?? 1_000;
  let service: Service | undefined;
  let first: { signal: ShutdownSignal; at: number } | undefined;
  let exited = false;
  const exit = (code: number) => {
    if (exited) return;
    exited = true;
    host.exit(code);
  };

  const stop = async (running: Service, signal: ShutdownSignal) => {
    log(`${signal}: ${running.stopping}`);
    const bound = setTimeout(() => {
      log(`did not stop within ${Math.round(options.stopBoundMs / 1000)}s; exiting`);
      exit(EXIT.failed);
    }, options.stopBoundMs);
    bound.unref();
    try {
      log(await running.stop());
      exit(EXIT.ok);
    } catch (err) {
      logger.error(`stopping failed: ${messageOf(err)}`);
      exit(EXIT.failed);
    } finally {
      clearTimeout(bound);
    }
  };

  const onSignal = (signal: ShutdownSignal) => {
    const now = performance.now();
    if (first) {
      if (signal === first.signal && now - first.at < repeatWindowMs) return;
      log(`${signal} again: exiting at once`);
      exit(EXIT.interrupted);
      return;
    }
    first = { signal, at: now };
    // A signal during start: stop as soon as the service is up.
    if (service) void stop(service, signal);
  };
  // Listening before start: a signal while the embedded cluster boots is not the default "die now".
  host.on('SIGTERM', () => onSignal('SIGTERM'));
  host.on('SIGINT', () => onSignal('SIGINT'));

  try {
    service = await options.start(log, logger);
  } catch (err) {
    logger.error(`${options.name} failed to start: ${messageOf(err)}`);
    if (err instanceof TenantToolkitError && err.hint) logger.error(`hint: ${err.hint}`);
    exit(err instanceof TenantToolkitError ? err.exitCode : EXIT.failed);
    return;
  }
  if (first) void stop(service, first.signal);
}
