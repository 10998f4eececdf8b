/**
 * Requests per second through the TenantDB middleware and pool manager, next
 * to the same query on one bare pg.Pool behind the same HTTP server, router
 * and JSON response (d):
 *   (a) one tenant
 *   (b) 1,000 tenants, Zipf-skewed (s = 1.1), a budget of 200 connections to
 *       the server (the 50 pools x 4 connections this scenario had before the
 *       per-server budget), pools growing from one connection under demand
 *   (c) 1,000 tenants, uniform round-robin, the same budget (worst-case churn)
 *   (e) for reference: a brand-new connection per request, round-robin over
 *       the same tenants, no pool at all: the floor any churn scenario hits,
 *       because PostgreSQL binds a connection to one database for its life
 * Runs are interleaved (d, a, b, c, d, a, ...) so drift hits every scenario
 * alike; the table shows medians, p99 over all runs, errors, and the peak of
 * connections pg_stat_activity showed against the cap.
 *
 * (b) is also set against the bound of a perfect cache of the same number of
 * connections: it keeps the most popular tenants connected, so a request hits
 * with probability h = the Zipf mass of the top C tenants (idealHitRate) and
 * otherwise pays for a new connection. With the costs measured in this run,
 * as throughput at the same concurrency (what a request costs the busiest
 * resource, here the one Node.js thread and the server's CPUs):
 *   t_query            = 1 / req/s of (d)  (a pooled query, same route)
 *   t_query + t_connect = 1 / req/s of (e)  (connect, query, disconnect)
 *   bound = 1 / (h * t_query + (1 - h) * (t_query + t_connect))
 * The serial latency of one new connection is printed too, for reference.
 */
import { withOwnerConnection } from '../../src/pg/admin-connection.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { tenantClientConfig } from '../../src/pg/connection-settings.js';
import { withConnection } from '../../src/pg/with-helpers.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { openTenantServices, type TenantServices } from '../../src/pools/tenant-services.js';
import { openRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { createApp } from '../../src/reference/app.js';
import { CURRENCIES_PATH } from '../../src/reference/currency-routes.js';
import { LIST_CURRENCIES_SQL, currencyFromRow } from '../../src/reference/currency-repository.js';
import { sendJson } from '../../src/server/http-errors.js';
import { Router } from '../../src/reference/router.js';
import { median, percentile, printTable, provisionerFor, startBenchServer } from './bench-support.js';
import { drive, idealHitRate, sampleConnections, zipfSampler, type LoadResult } from './load-generator.js';

const TENANTS = Number(process.env.BENCH_SERVER_TENANTS ?? 1000);
const RUNS = Number(process.env.BENCH_SERVER_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SERVER_SECONDS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_SERVER_CONCURRENCY ?? 64);
/** The connections (b) had before the per-server budget: 50 pools x 4; now the server's budget. */
const CONNECTIONS = 200;
const CONNS_PER_POOL = 4;
/**
 * A pool without connections is a small object: the table may keep one per
 * tenant, and the server budget alone decides which tenants keep connections.
 */
const MAX_POOLS = TENANTS;
/** Requests (b) is warmed with: until the connections hold the popular tenants and their demand is known. */
const WARMUP_REQUESTS = Number(process.env.BENCH_SERVER_WARMUP_REQUESTS ?? 10_000);
const ZIPF_S = 1.1;
/** Which scenarios to run, e.g. BENCH_SERVER_SCENARIOS=d,a while tuning; (d) always runs. */
const ONLY = new Set((process.env.BENCH_SERVER_SCENARIOS ?? 'a,b,c,d,e').split(',').map((s) => s.trim()));

interface Scenario {
  name: string;
  /** application_name of its connections, so pg_stat_activity is counted per scenario. */
  app: string;
  port: number;
  cap: number;
  nextTenant: () => string | undefined;
  results: LoadResult[];
  peak: number;
}

async function listen(handler: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const SEED_CURRENCIES = `INSERT INTO currencies (code, name, symbol) VALUES
  ('EUR', 'Euro', '€'), ('GBP', 'Pound Sterling', '£'), ('JPY', 'Yen', '¥'), ('USD', 'US Dollar', '$'), ('CHF', 'Swiss Franc', NULL)`;

async function provision(rt: Runtime, count: number): Promise<Tenant[]> {
  const provisioner = provisionerFor(rt);
  await provisioner.refreshTemplate();
  const tenants: Tenant[] = new Array<Tenant>(count);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) {
        const i = next++;
        const slug = `bench-${String(i).padStart(4, '0')}`;
        const tenant = (await provisioner.create({ slug, name: slug }, { actor: 'bench', rebuildTemplate: false })).tenant;
        // Every tenant starts with the same five currencies, written as its owner (the template takes no plants).
        await withOwnerConnection(rt.connections.adminUrl, tenant, tenant.ownerRole as string, (c) => c.query(SEED_CURRENCIES));
        tenants[i] = tenant;
      }
    }),
  );
  console.log(`created and seeded ${count} tenants by template clone in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  return tenants;
}

/** (d): the same route, SQL and JSON on one bare pg.Pool, without middleware, pool manager or tenant scope. */
function bareHandler(pool: pg.Pool): http.RequestListener {
  const router = new Router().add('GET', CURRENCIES_PATH, async ({ res }) => {
    const { rows } = await pool.query({ name: 'currencies.list', text: LIST_CURRENCIES_SQL, values: [100, 0] });
    sendJson(res, 200, { items: rows.map(currencyFromRow), limit: 100, offset: 0 });
  });
  return (req, res) => {
    const match = router.match(req.method ?? 'GET', (req.url ?? '/').split('?')[0] as string);
    if (match.kind !== 'found') return sendJson(res, 404, { code: 'NOT_FOUND', message: 'no route' });
    void Promise.resolve(match.handler({ req, res, params: match.params, query: new URLSearchParams() })).catch(() =>
      sendJson(res, 500, { code: 'INTERNAL', message: 'internal server error' }),
    );
  };
}

/** (e): connect, query, disconnect on every request: what a miss costs without any pool manager. */
function churnHandler(rt: Runtime, tenants: Tenant[]): http.RequestListener {
  let next = 0;
  return (_req, res) => {
    const tenant = tenants[next++ % tenants.length] as Tenant;
    void withConnection(tenantClientConfig(tenant, rt.connections.tenant, { application_name: 'bench-e' }), (c) =>
      c.query({ name: 'currencies.list', text: LIST_CURRENCIES_SQL, values: [100, 0] }),
    ).then(
      ({ rows }) => sendJson(res, 200, { items: rows.map(currencyFromRow), limit: 100, offset: 0 }),
      () => sendJson(res, 503, { code: 'DATABASE_UNAVAILABLE', message: 'unavailable' }),
    );
  };
}

/** Median time to open, use once and close a connection to a tenant database, one at a time (ms). */
async function connectLatency(rt: Runtime, tenants: Tenant[]): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 50; i++) {
    const tenant = tenants[(i * 37) % tenants.length] as Tenant;
    const t0 = performance.now();
    await withConnection(tenantClientConfig(tenant, rt.connections.tenant, { application_name: 'bench-latency' }), (c) => c.query('SELECT 1'));
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Drops the tenant databases four at a time (dropPrefix goes one by one, which takes minutes for 1,000). */
async function dropTenantDatabases(adminUrl: string, prefix: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const { rows } = await admin
    .query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND NOT datistemplate', [`${prefix}bench_`])
    .finally(() => admin.end());
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        while (next < rows.length) {
          const { datname } = rows[next++] as { datname: string };
          await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(datname)} WITH (FORCE)`);
        }
      } finally {
        await client.end();
      }
    }),
  );
}

export async function run(): Promise<void> {
  // A throwaway cluster without durability: creating and dropping 1,000
  // databases is the setup, not what is measured (the queries only read).
  const server = await startBenchServer({ fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' });
  const { config, prefix } = server.config({
    TENANT_MAX_POOLS: String(MAX_POOLS),
    TENANT_MAX_CONNS_PER_POOL: String(CONNS_PER_POOL),
    TENANT_ACQUIRE_TIMEOUT: '30s',
  });
  const rt = await openRuntime(config);
  // The budget of the one server, as `tenant server add --connections` would register it.
  await rt.metaPool.query("UPDATE servers SET connections = $1 WHERE name = 'default'", [CONNECTIONS]);
  await rt.servers.refresh();
  const servers: http.Server[] = [];
  const services: TenantServices[] = [];
  let bare: pg.Pool | undefined;
  try {
    const tenants = await provision(rt, ONLY.has('b') || ONLY.has('c') || ONLY.has('e') ? TENANTS : 1);
    const ids = tenants.map((t) => t.id);
    const first = tenants[0] as Tenant;

    bare = new pg.Pool(tenantClientConfig(first, rt.connections.tenant, { max: CONNS_PER_POOL, application_name: 'bench-d' }));
    const appServer = async (app: string) => {
      const s = await openTenantServices(rt, { poolConfig: { application_name: app } });
      services.push(s);
      const httpServer = await listen(createApp({ pools: s.pools, metaPool: rt.metaPool, listener: s.listener, cache: s.cache }));
      servers.push(httpServer);
      return (httpServer.address() as AddressInfo).port;
    };
    const bareServer = await listen(bareHandler(bare));
    servers.push(bareServer);
    const churnServer = await listen(churnHandler(rt, tenants));
    servers.push(churnServer);

    const zipf = zipfSampler(ids.length, ZIPF_S);
    // Ranks map to tenants in a shuffled order, so "popular" is not "created first".
    const byRank = [...ids].sort(() => Math.random() - 0.5);
    let roundRobin = 0;
    const cap = CONNECTIONS;
    const scenario = async (key: string, name: string, nextTenant: () => string | undefined): Promise<Scenario[]> =>
      ONLY.has(key) ? [{ name, app: `bench-${key}`, port: await appServer(`bench-${key}`), cap, nextTenant, results: [], peak: 0 }] : [];
    const scenarios: Scenario[] = [
      {
        name: '(d) bare pg.Pool, same query',
        app: 'bench-d',
        port: (bareServer.address() as AddressInfo).port,
        cap: CONNS_PER_POOL,
        nextTenant: () => undefined,
        results: [],
        peak: 0,
      },
      ...(await scenario('a', '(a) middleware, 1 tenant', () => first.id)),
      ...(await scenario('b', `(b) ${ids.length} tenants, Zipf s=${ZIPF_S}`, () => byRank[zipf()])),
      ...(await scenario('c', `(c) ${ids.length} tenants, round-robin`, () => ids[roundRobin++ % ids.length])),
    ];
    // Reference row, after the scenarios so that services[] stays aligned with them.
    if (ONLY.has('e')) {
      const port = (churnServer.address() as AddressInfo).port;
      scenarios.push({
        name: '(e) new connection per request',
        app: 'bench-e',
        port,
        cap: CONCURRENCY,
        nextTenant: () => undefined,
        results: [],
        peak: 0,
      });
    }

    for (const scenario of scenarios) {
      // Warm-up: JIT, prepared statements, a full pool table; (b) until its cache is in a steady state
      // (the bound below is a steady state's), at most 60s.
      const steady = scenario.app === 'bench-b' ? { durationMs: 60_000, maxRequests: WARMUP_REQUESTS } : { durationMs: 1_000 };
      await drive({ ...scenario, path: CURRENCIES_PATH, concurrency: CONCURRENCY, ...steady });
    }
    /** (b)'s new connections per request in the measured runs: its miss rate, against the ideal cache's. */
    const misses = { opened: 0, requests: 0 };
    for (let r = 0; r < RUNS; r++) {
      for (const scenario of scenarios) {
        const sampler = await sampleConnections(server.adminUrl, scenario.app);
        const pools = scenario.app === 'bench-b' ? services[scenarios.indexOf(scenario) - 1]?.pools : undefined;
        const openedBefore = pools?.stats().counters.connectionsOpened ?? 0;
        const result = await drive({ ...scenario, path: CURRENCIES_PATH, concurrency: CONCURRENCY, durationMs: SECONDS * 1_000 });
        if (pools) {
          misses.opened += pools.stats().counters.connectionsOpened - openedBefore;
          misses.requests += result.requests;
        }
        scenario.peak = Math.max(scenario.peak, await sampler.stop());
        scenario.results.push(result);
        if (result.firstError) console.log(`${scenario.name}: first error: ${result.firstError}`);
      }
    }

    const base = median((scenarios[0] as Scenario).results.map((r) => r.rps));
    printTable(
      `requests/s through the middleware (${CONCURRENCY} concurrent clients, ${RUNS} x ${SECONDS}s, budget ${CONNECTIONS} connections, up to ${MAX_POOLS} pools of ${CONNS_PER_POOL})`,
      ['scenario', 'req/s (median)', 'vs (d)', 'p99 ms', 'errors', 'peak conns', 'cap'],
      scenarios.map((s) => {
        const rps = median(s.results.map((r) => r.rps));
        return [
          s.name,
          Math.round(rps),
          (rps / base).toFixed(2),
          percentile(
            s.results.flatMap((r) => r.latenciesMs),
            99,
          ),
          s.results.reduce((n, r) => n + r.errors, 0),
          s.peak,
          s.cap,
        ];
      }),
    );
    for (const [i, s] of scenarios.entries()) {
      const pools = i === 0 ? undefined : services[i - 1]?.pools.stats();
      if (pools) {
        const c = pools.counters;
        const budget = pools.servers[0];
        console.log(
          `${s.name}: ${c.opened} pools opened (${c.evicted} evicted), ${c.connectionsOpened} connections opened ` +
            `(${budget?.evicted ?? 0} idle ones closed for others), table cap ${pools.maxPools}, server budget ${budget?.limit ?? '-'}`,
        );
      }
    }
    const ratio = (key: string) => {
      const s = scenarios.find((x) => x.app === `bench-${key}`);
      return s ? median(s.results.map((r) => r.rps)) / base : NaN;
    };
    if (ONLY.has('b') && ONLY.has('e')) {
      const rate = (key: string) => median((scenarios.find((x) => x.app === `bench-${key}`) as Scenario).results.map((r) => r.rps));
      const hit = idealHitRate(ids.length, ZIPF_S, CONNECTIONS);
      const tQuery = 1 / base;
      const tConnect = Math.max(0, 1 / rate('e') - tQuery);
      const bound = 1 / (hit * tQuery + (1 - hit) * (tQuery + tConnect));
      const latency = await connectLatency(rt, tenants);
      console.log(
        `(b) vs a perfect cache of ${CONNECTIONS} connections: hit rate ${hit.toFixed(3)} (Zipf s=${ZIPF_S}, ${ids.length} tenants), ` +
          `t_query ${(tQuery * 1000).toFixed(3)}ms, t_connect ${(tConnect * 1000).toFixed(3)}ms (throughput costs; one new connection alone: ${latency.toFixed(2)}ms), ` +
          `bound ${Math.round(bound)} req/s = ${(bound / base).toFixed(2)} of (d); (b) ${Math.round(rate('b'))} req/s = ${(rate('b') / bound).toFixed(2)} of the bound`,
      );
      const missRate = misses.opened / Math.max(1, misses.requests);
      const atOurHitRate = 1 / ((1 - missRate) * tQuery + missRate * (tQuery + tConnect));
      console.log(
        `(b) measured miss rate ${missRate.toFixed(3)} (${misses.opened} new connections / ${misses.requests} requests; ideal ${(1 - hit).toFixed(3)}); ` +
          `the same model at the measured miss rate: ${Math.round(atOurHitRate)} req/s, (b) = ${(rate('b') / atOurHitRate).toFixed(2)} of it`,
      );
    }
    const errors = scenarios.reduce((n, s) => n + s.results.reduce((m, r) => m + r.errors, 0), 0);
    const overCap = scenarios.filter((s) => s.peak > s.cap).map((s) => s.name);
    console.log(
      `targets: (a) >= 0.90 of (d): ${ratio('a').toFixed(2)}; (b) >= 0.70 of (d): ${ratio('b').toFixed(2)}; ` +
        `errors: ${errors}; connections above the cap: ${overCap.length ? overCap.join(', ') : 'never'}`,
    );
  } finally {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    await Promise.all(services.map((s) => s.close({ deadlineMs: 2_000 })));
    await bare?.end();
    await rt.close();
    await dropTenantDatabases(server.adminUrl, prefix);
    await server.dropPrefix(prefix); // the template and the meta database
    await server.stop();
  }
}
