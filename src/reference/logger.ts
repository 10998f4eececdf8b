/**
 * The reference server's and worker's log: JSON lines through pino, one
 * object per event (`level`, `time`, `pid`, `name`, `msg`, and the event's
 * fields), on stderr; on a terminal each line is formatted for reading by
 * pino-pretty. Every string that reaches a line, message or field, goes
 * through redact() first: no password in a connection URL or a key=value
 * string survives. LOG_LEVEL sets the level (default info).
 */
import pino, { type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { redact } from '../redact.js';
import type { LogLevel } from '../config.js';

export type { Logger } from 'pino';

/** A one-line message at info (the shape the entry points used before), with optional fields. */
export type Log = (message: string, fields?: Record<string, unknown>) => void;

export interface LoggerOptions {
  /** The program (`tenant-server`, `tenant-worker`): the `name` of every line. */
  name: string;
  /** Where the lines go (stderr). */
  stream: { write(chunk: string): unknown };
  level?: LogLevel;
  /** For a person at a terminal: each line formatted by pino-pretty (same fields, same redaction) instead of JSON. */
  pretty?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => redactFields(fields) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? redact(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    { write: lineWriter(options) },
  );
}

/** JSON lines as they are, or each formatted for reading (synchronously: a line is never lost at exit). */
function lineWriter(options: LoggerOptions): (chunk: string) => void {
  if (!options.pretty) return (chunk) => void options.stream.write(chunk);
  const prettify = prettyFactory({ colorize: !process.env.NO_COLOR, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  return (chunk) => void options.stream.write(prettify(chunk));
}

/** The Log function over a logger: info, fields first (pino's order). */
export function logFunction(logger: Logger): Log {
  return (message, fields) => (fields ? logger.info(fields, message) : logger.info(message));
}

/** Strings redacted in fields, nested objects and arrays too (a few levels: log fields are shallow). */
export function redactFields(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (depth > 4 || typeof value !== 'object' || value === null) return value;
  if (value instanceof Error) return { type: value.name, message: redact(value.message) };
  if (Array.isArray(value)) return value.map((item) => redactFields(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = redactFields(item, depth + 1);
  return out;
}
