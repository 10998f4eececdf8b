/** Reads a JSON request body with a size limit; every failure is a typed 4xx. */
import type http from 'node:http';
import { TenantToolkitError, UsageError } from '../errors.js';
import { assertNoNul } from './request-text.js';

export async function readJson(req: http.IncomingMessage, limitBytes = 64 * 1024): Promise<unknown> {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new UsageError('the request body must be JSON (Content-Type: application/json)');
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) throw tooLarge(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw tooLarge(limitBytes);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new UsageError('the request body is empty; send a JSON object');
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    throw new UsageError('the request body is not valid JSON');
  }
  assertNoNul(body);
  return body;
}

function tooLarge(limitBytes: number): TenantToolkitError {
  return new TenantToolkitError('PAYLOAD_TOO_LARGE', `the request body is larger than ${limitBytes} bytes`);
}
