/**
 * Errors to HTTP: the status comes from ERROR_TABLE (err.httpStatus), the
 * body is always `{ code, message }` (plus `fields` for validation errors).
 * No stack, no cause, no connection string ever reaches a client: server-side
 * failures get a fixed message, and every message goes through redact().
 */
import type http from 'node:http';
import {
  InsufficientStockError,
  PoolExhaustedError,
  RateLimitedError,
  TenantToolkitError,
  UnknownReferenceError,
  TenantUnavailableError,
  ValidationError,
  isUnstorableText,
  messageOf,
  toToolkitError,
  type ErrorCode,
  type StockShortage,
} from '../errors.js';
import { redact } from '../redact.js';

export interface ErrorBody {
  code: string;
  message: string;
  fields?: Record<string, string>;
  /** INSUFFICIENT_STOCK: the offending lines. */
  lines?: StockShortage[];
}

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
}

/** 5xx codes whose message we wrote ourselves and that help the client (no addresses, no SQL). */
const SAFE_SERVER_MESSAGES = new Set<ErrorCode>(['TENANT_UNAVAILABLE', 'POOL_EXHAUSTED', 'SHUTTING_DOWN', 'QUERY_TIMEOUT']);

const FIXED_MESSAGES: Partial<Record<ErrorCode, string>> = {
  DATABASE_UNAVAILABLE: 'the database is unavailable; try again shortly',
  // The role name stays in the server log: a client learns only that it is not its fault.
  AUTH_FAILED: 'the database is unavailable; try again shortly',
  CANCELLED: 'the request was cancelled',
  // Which key variable is missing stays in the server log.
  SECRET_KEY: 'the server cannot open tenant credentials; see its log',
};

const RETRY_AFTER_SECONDS: Partial<Record<ErrorCode, number>> = {
  POOL_EXHAUSTED: 1,
  DATABASE_UNAVAILABLE: 5,
  AUTH_FAILED: 30,
  SHUTTING_DOWN: 5,
  QUERY_TIMEOUT: 1,
  LOCK_TIMEOUT: 5,
};

export function toHttpError(err: unknown): TenantToolkitError {
  // pg's pool reports "no free connection in time" as a plain Error.
  if (!(err instanceof TenantToolkitError) && /timeout exceeded when trying to connect/i.test(messageOf(err))) {
    return new PoolExhaustedError('every connection of this tenant is busy; try again shortly');
  }
  // Text the database cannot store: the request checks catch NULs first;
  // whatever still gets through is the client's input too, so a 400, never a 500.
  if ((!(err instanceof TenantToolkitError) || err.code === 'INTERNAL') && isUnstorableText(err)) {
    return new ValidationError({}, 'the request contains text the database cannot store (a NUL character, or one its encoding lacks)');
  }
  return toToolkitError(err);
}

export function errorResponse(err: unknown): ErrorResponse {
  const known = toHttpError(err);
  const status = known.httpStatus;
  let message: string;
  if (status < 500 || SAFE_SERVER_MESSAGES.has(known.code)) message = redact(known.message);
  else message = FIXED_MESSAGES[known.code] ?? 'internal server error';
  const body: ErrorBody = { code: known.code, message };
  if (known instanceof ValidationError || known instanceof UnknownReferenceError) body.fields = known.fields;
  if (known instanceof InsufficientStockError) body.lines = known.lines;
  const headers: Record<string, string> = {};
  if (known.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer';
  const retryAfter =
    known instanceof TenantUnavailableError || known instanceof RateLimitedError ? known.retryAfterSeconds : RETRY_AFTER_SECONDS[known.code];
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  return { status, body, headers };
}

/**
 * The error `tenantDb({ passErrors: true })` hands to `next(err)`: the typed
 * error (its `code`, its class) plus what Express/Connect error handlers read,
 * in the `http-errors` convention: `status`/`statusCode`, `expose` (false for
 * 5xx: the message may name hosts), `headers` (Retry-After), and `body`, the
 * JSON the middleware would have answered with, safe to send as it is.
 */
export type PassedError = TenantToolkitError & {
  status: number;
  statusCode: number;
  expose: boolean;
  headers: Record<string, string>;
  body: ErrorBody;
};

export function toPassedError(err: unknown): PassedError {
  const known = toHttpError(err);
  const { status, body, headers } = errorResponse(known);
  return Object.assign(known, { status, statusCode: status, expose: status < 500, headers, body });
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(payload);
}

/** The error code each response was answered with (for request logs and metrics); gone with the response. */
const answeredCodes = new WeakMap<http.ServerResponse, string>();

/** The `code` of the error this response answered with (sendError), if it did. */
export function answeredErrorCode(res: http.ServerResponse): string | undefined {
  return answeredCodes.get(res);
}

/** Sends the error as JSON; if the response already started, cuts it instead (a half body is worse). */
export function sendError(res: http.ServerResponse, err: unknown): ErrorResponse {
  const response = errorResponse(err);
  answeredCodes.set(res, response.body.code);
  if (res.headersSent) {
    res.destroy();
    return response;
  }
  if (!res.writableEnded) sendJson(res, response.status, response.body, response.headers);
  return response;
}
