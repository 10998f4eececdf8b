/**
 * Closed-loop HTTP load for the server benchmark: `concurrency` async loops,
 * each sending its next operation as soon as the previous one answered, over
 * keep-alive connections on loopback. An operation is one GET of `path` by
 * default, or whatever `operation` sends (e.g. create a document, then post
 * it). Also: a Zipf sampler and a sampler of the connections PostgreSQL
 * really sees.
 */
import http from 'node:http';
import pg from 'pg';

export interface LoadOptions {
  port: number;
  path: string;
  concurrency: number;
  durationMs: number;
  /** Stop after this many requests (default: only the duration). */
  maxRequests?: number;
  /** Tenant id for the next request (undefined: no header). */
  nextTenant: () => string | undefined;
  /** More headers for a request to this tenant (the API's Authorization). */
  headers?: ((tenantId: string | undefined) => Record<string, string>) | undefined;
  /** One operation instead of `GET path`: resolves true when it succeeded, else a short reason. */
  operation?: ((send: Send, tenantId: string | undefined) => Promise<true | string>) | undefined;
}

export interface Exchange {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** One HTTP exchange on the loop's agent: the status (0 for a failed exchange) and the body's text. */
export type Send = (exchange: Exchange) => Promise<{ status: number; body: string }>;

export interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  latenciesMs: number[];
  firstError: string | undefined;
}

export async function drive(options: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latenciesMs: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const until = started + options.durationMs;
  const send: Send = (exchange) => request(agent, options.port, exchange);
  const headersOf = options.headers ?? (() => ({}));
  const operation =
    options.operation ??
    (async (_send: Send, tenantId: string | undefined): Promise<true | string> => {
      const { status, body } = await send({ path: options.path, headers: tenantHeaders(tenantId, headersOf) });
      return status === 200 ? true : `${status} ${body.slice(0, 200)}`;
    });
  const loops = Array.from({ length: options.concurrency }, async () => {
    while (performance.now() < until && latenciesMs.length < (options.maxRequests ?? Infinity)) {
      const t0 = performance.now();
      const outcome = await operation(send, options.nextTenant());
      latenciesMs.push(performance.now() - t0);
      if (outcome !== true) {
        errors++;
        firstError ??= String(outcome);
      }
    }
  });
  await Promise.all(loops);
  const elapsed = performance.now() - started;
  agent.destroy();
  return { requests: latenciesMs.length, errors, rps: (latenciesMs.length / elapsed) * 1000, latenciesMs, firstError };
}

/** The tenant header and the scenario's own headers for a request to the tenant. */
export function tenantHeaders(
  tenantId: string | undefined,
  headersOf: (tenantId: string | undefined) => Record<string, string> = () => ({}),
): Record<string, string> {
  return { ...headersOf(tenantId), ...(tenantId ? { 'x-tenant-id': tenantId } : {}) };
}

function request(agent: http.Agent, port: number, exchange: Exchange): Promise<{ status: number; body: string }> {
  const payload = exchange.body === undefined ? undefined : JSON.stringify(exchange.body);
  const headers = {
    ...exchange.headers,
    ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }),
  };
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: exchange.path, method: exchange.method ?? 'GET', agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve({ status: 0, body: err.message }));
    });
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end(payload);
  });
}

/** Ranks 0..n-1 with P(k) proportional to 1/(k+1)^s. */
export function zipfSampler(n: number, s: number, random: () => number = Math.random): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) cdf[k] = total += 1 / (k + 1) ** s;
  for (let k = 0; k < n; k++) cdf[k] = (cdf[k] as number) / total;
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/**
 * The share of requests an ideal cache of `size` entries serves under
 * Zipf(s) over n keys: it keeps the `size` most popular keys, so its hit rate
 * is their share of the probability mass. No online policy (LRU included)
 * does better on independent requests.
 */
export function idealHitRate(n: number, s: number, size: number): number {
  let hit = 0;
  let total = 0;
  for (let k = 1; k <= n; k++) {
    const p = 1 / k ** s;
    total += p;
    if (k <= size) hit += p;
  }
  return hit / total;
}

/** Polls pg_stat_activity on its own connection; reports the peak of client connections with this application_name. */
export async function sampleConnections(adminUrl: string, applicationName: string): Promise<{ stop(): Promise<number> }> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name = $1",
        [applicationName],
      );
      peak = Math.max(peak, rows[0]?.n ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await client.end();
      return peak;
    },
  };
}
