/**
 * `GET /metrics` in the Prometheus text format, for a plain `http` server or
 * Express (it is a `(req, res)` handler), and a registry with the default
 * process metrics (CPU, memory, event-loop lag, handles) already on it.
 */
import type http from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { messageOf } from '../errors.js';
import { redact } from '../redact.js';

/** A new registry; with `defaultMetrics` (default true) prom-client's process metrics are collected on it. */
export function createMetricsRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  return registry;
}

/** Answers GET and HEAD with the registry's metrics (405 otherwise); a failing collect is a 500 with a redacted message. */
export function metricsHandler(registry: Registry): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        if (res.headersSent) return void res.destroy();
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`collecting metrics failed: ${redact(messageOf(err))}\n`);
      },
    );
  };
}
