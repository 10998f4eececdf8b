/**
 * OpenTelemetry spans through `@opentelemetry/api` only. Without an SDK
 * registered by the application, the API hands out a no-op tracer: these
 * helpers then cost a function call and a non-recording span, nothing is
 * exported. An application turns them on by registering a tracer provider
 * (e.g. `@opentelemetry/sdk-node`'s NodeSDK) before it opens the toolkit.
 */
import { SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { redact } from './redact.js';

export const TRACER_NAME = 'metapus-tenant';

export type { Attributes, Span } from '@opentelemetry/api';

/** Runs `fn` inside an active span; the span records a thrown error and ends when `fn` settles. */
export function withSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Marks the span failed with the error's message (redacted; never its stack). */
export function failSpan(span: Span, err: unknown): void {
  const message = redact(err instanceof Error ? err.message : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') span.setAttribute('error.type', code);
}
