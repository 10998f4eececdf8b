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
 *
 * Every API request carries a real access token (bench-sessions.ts: one
 * admin per tenant, logged in before timing), so each one pays the token
 * check and the read of its user's row and permissions, as in production;
 * the raw bounds (d) and (e) do the same work (the signature check and the
 * same two statements), so the ratios measure the toolkit, not the auth.
 *
 * The write scenario, "post a 10-line goods receipt" (receipt-scenario.ts):
 *   (f) through the API: over BENCH_SERVER_RECEIPT_TENANTS (100) tenants,
 *       Zipf-skewed (s = 1.1), one operation = POST the receipt + POST its
 *       /post (two requests; ops/s and the pair's p50/p99 are reported, and
 *       requests/s = 2 x ops/s)
 *   (g) its raw lower bound: the same SQL on bare pg.Pools (one per tenant,
 *       same per-pool cap), same tenants, same Zipf, same HTTP client
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
import type { PoolManager } from '../../src/pools/pool-manager.js';
import { catalogListFromRows, catalogListQuery } from '../../src/erp/catalogs/catalog-repository.js';
import { createApp } from '../../src/reference/app.js';
import { sendJson } from '../../src/server/http-errors.js';
import { Router } from '../../src/reference/router.js';
import { median, percentile, printTable, provisionerFor, startBenchServer } from './bench-support.js';
import { BENCH_TOKEN_KEY, benchAuth, createSessions } from './bench-sessions.js';
import { verifyAccessToken } from '../../src/erp/auth/access-token.js';
import { userByIdQuery } from '../../src/erp/auth/user-queries.js';
import { drive, idealHitRate, sampleConnections, zipfSampler, type LoadOptions, type LoadResult } from './load-generator.js';
import { SEED_RECEIPT_CATALOGS, barePools, rawReceiptHandler, receiptOperation } from './receipt-scenario.js';

const TENANTS = Number(process.env.BENCH_SERVER_TENANTS ?? 1000);
/** Tenants of the receipt scenario (f, g): the first this many, ranked at random for Zipf. */
const RECEIPT_TENANTS = Number(process.env.BENCH_SERVER_RECEIPT_TENANTS ?? 100);
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
const ONLY = new Set((process.env.BENCH_SERVER_SCENARIOS ?? 'a,b,c,d,e,f,g').split(',').map((s) => s.trim()));
/** The list the read scenarios request (the API's default page is 50 rows; the bare route runs the same LIMIT). */
const CURRENCIES_ROUTE = '/api/v1/catalogs/currencies';
const CURRENCIES_PATH = `${CURRENCIES_ROUTE}?limit=100`;
const LIST_PAGE = { limit: 100, includeDeleted: false };

interface Scenario {
  name: string;
  /** application_name of its connections, so pg_stat_activity is counted per scenario. */
  app: string;
  port: number;
  cap: number;
  nextTenant: () => string | undefined;
  results: LoadResult[];
  peak: number;
  /** Read (currency list) or write (receipt create + post) scenario. */
  kind: 'read' | 'write';
  /** What one operation is (default: GET the currency list). */
  load?: Pick<LoadOptions, 'headers' | 'operation'>;
  /** The app server's pool manager (API scenarios). */
  pools?: PoolManager;
}

async function listen(handler: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const SEED_CURRENCIES = `INSERT INTO currencies (code, name, symbol) VALUES
  ('EUR', 'Euro', '€'), ('GBP', 'Pound Sterling', '£'), ('JPY', 'Yen', '¥'), ('USD', 'US Dollar', '$'), ('CHF', 'Swiss Franc', NULL)`;

async function provision(rt: Runtime, count: number, receiptTenants: number): Promise<Tenant[]> {
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
        // The receipt scenario's tenants also get a warehouse and ten items.
        const seed = i < receiptTenants ? `${SEED_CURRENCIES}; ${SEED_RECEIPT_CATALOGS}` : SEED_CURRENCIES;
        await withOwnerConnection(rt.connections.adminUrl, tenant, tenant.ownerRole as string, (c) => c.query(seed));
        tenants[i] = tenant;
      }
    }),
  );
  console.log(`created and seeded ${count} tenants by template clone in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  return tenants;
}

/**
 * (d): the same work on one bare pg.Pool: the token's signature, the user's
 * row (userByIdQuery, the API's own SQL) and the list (catalogListQuery), the
 * same route and JSON; without middleware, pool manager, tenant scope or
 * transaction manager. What is left between (a) and (d) is the toolkit.
 */
function bareHandler(pool: pg.Pool): http.RequestListener {
  const router = new Router().add('GET', CURRENCIES_ROUTE, async ({ req, res }) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const claims = verifyAccessToken(BENCH_TOKEN_KEY, token);
    const user = await pool.query<{ is_active: boolean }>(userByIdQuery(claims.sub));
    if (!user.rows[0]?.is_active) return sendJson(res, 401, { code: 'UNAUTHENTICATED', message: 'no such user' });
    const { rows } = await pool.query<Record<string, unknown>>(catalogListQuery('currencies', LIST_PAGE));
    sendJson(res, 200, catalogListFromRows('currencies', LIST_PAGE, rows));
  });
  return (req, res) => {
    const match = router.match(req.method ?? 'GET', (req.url ?? '/').split('?')[0] as string);
    if (match.kind !== 'found') return sendJson(res, 404, { code: 'NOT_FOUND', message: 'no route' });
    const ctx = { req, res, params: match.params, query: new URLSearchParams(), require: () => undefined };
    void Promise.resolve(match.handler(ctx)).catch(() => sendJson(res, 500, { code: 'INTERNAL', message: 'internal server error' }));
  };
}

/** (e): connect, query, disconnect on every request: what a miss costs without any pool manager. */
function churnHandler(rt: Runtime, tenants: Tenant[], sessions: ReadonlyMap<string, string>): http.RequestListener {
  let next = 0;
  return (_req, res) => {
    const tenant = tenants[next++ % tenants.length] as Tenant;
    // The same work as (d): the tenant's token checked, its user read, then the list.
    const claims = verifyAccessToken(BENCH_TOKEN_KEY, (sessions.get(tenant.id) ?? '').replace(/^Bearer /, ''));
    void withConnection(tenantClientConfig(tenant, rt.connections.tenant, { application_name: 'bench-e' }), async (c) => {
      await c.query(userByIdQuery(claims.sub));
      return c.query<Record<string, unknown>>(catalogListQuery('currencies', LIST_PAGE));
    }).then(
      ({ rows }) => sendJson(res, 200, catalogListFromRows('currencies', LIST_PAGE, rows)),
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
  // databases is the setup, not what is measured (durability would only
  // add fsyncs to the receipt scenario's commits, alike in (f) and (g)).
  // Room for every scenario's connections at once: the app servers' budgets (4 x 200), (g)'s bare
  // pools (100 x 4), (e)'s churn and the samplers; idle ones of a scenario stay open while the next runs.
  const server = await startBenchServer({ fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '1300' });
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
  let raw: ReturnType<typeof barePools> | undefined;
  try {
    const writes = ONLY.has('f') || ONLY.has('g');
    const count = ONLY.has('b') || ONLY.has('c') || ONLY.has('e') ? TENANTS : writes ? RECEIPT_TENANTS : 1;
    const receiptCount = writes ? Math.min(RECEIPT_TENANTS, count) : 0;
    const tenants = await provision(rt, count, receiptCount);
    const ids = tenants.map((t) => t.id);
    const byId = new Map(tenants.map((t) => [t.id, t]));
    const first = tenants[0] as Tenant;

    // One admin per tenant, logged in, before any timing (the token check itself is measured).
    const auth = benchAuth();
    const setup = await openTenantServices(rt, { poolConfig: { application_name: 'bench-setup' }, listen: false });
    const started = performance.now();
    const sessions = await createSessions(setup.pools, auth, ids).finally(() => setup.close({ deadlineMs: 2_000 }));
    console.log(`created and logged in ${sessions.size} users in ${((performance.now() - started) / 1000).toFixed(1)}s`);
    const withToken = (id: string | undefined): Record<string, string> => (id ? { authorization: sessions.get(id) as string } : {});

    bare = new pg.Pool(tenantClientConfig(first, rt.connections.tenant, { max: CONNS_PER_POOL, application_name: 'bench-d' }));
    const appServer = async (app: string) => {
      const s = await openTenantServices(rt, { poolConfig: { application_name: app } });
      services.push(s);
      const httpServer = await listen(createApp({ auth, pools: s.pools, metaPool: rt.metaPool, listener: s.listener, cache: s.cache }));
      servers.push(httpServer);
      return { port: (httpServer.address() as AddressInfo).port, pools: s.pools };
    };
    const bareServer = await listen(bareHandler(bare));
    servers.push(bareServer);
    const churnServer = await listen(churnHandler(rt, tenants, sessions));
    servers.push(churnServer);

    const zipf = zipfSampler(ids.length, ZIPF_S);
    // Ranks map to tenants in a shuffled order, so "popular" is not "created first".
    const byRank = [...ids].sort(() => Math.random() - 0.5);
    const receiptIds = ids.slice(0, receiptCount);
    const receiptZipf = zipfSampler(Math.max(1, receiptIds.length), ZIPF_S);
    const receiptRank = [...receiptIds].sort(() => Math.random() - 0.5);
    let roundRobin = 0;
    const cap = CONNECTIONS;
    const scenario = async (
      key: string,
      name: string,
      nextTenant: () => string | undefined,
      kind: Scenario['kind'] = 'read',
      load: Scenario['load'] = { headers: withToken },
    ): Promise<Scenario[]> =>
      ONLY.has(key)
        ? [{ name, app: `bench-${key}`, ...(await appServer(`bench-${key}`)), cap, nextTenant, results: [], peak: 0, kind, load }]
        : [];
    const scenarios: Scenario[] = [
      {
        name: '(d) bare pg.Pool, same queries',
        app: 'bench-d',
        port: (bareServer.address() as AddressInfo).port,
        cap: CONNS_PER_POOL,
        nextTenant: () => first.id,
        results: [],
        peak: 0,
        kind: 'read',
        load: { headers: withToken },
      },
      ...(await scenario('a', '(a) middleware, 1 tenant', () => first.id)),
      ...(await scenario('b', `(b) ${ids.length} tenants, Zipf s=${ZIPF_S}`, () => byRank[zipf()])),
      ...(await scenario('c', `(c) ${ids.length} tenants, round-robin`, () => ids[roundRobin++ % ids.length])),
      ...(await scenario(
        'f',
        `(f) receipt create+post, ${receiptIds.length} tenants, Zipf s=${ZIPF_S}`,
        () => receiptRank[receiptZipf()],
        'write',
        {
          operation: receiptOperation(withToken),
        },
      )),
    ];
    if (ONLY.has('g')) {
      raw = barePools((id) =>
        tenantClientConfig(byId.get(id) as Tenant, rt.connections.tenant, {
          max: CONNS_PER_POOL,
          application_name: 'bench-g',
          // Idle connections stay between runs, as a warm pool manager's do: the bound pays no reconnects.
          idleTimeoutMillis: 0,
        }),
      );
      const rawServer = await listen(rawReceiptHandler(raw.poolFor));
      servers.push(rawServer);
      scenarios.push({
        name: `(g) raw: same SQL, bare pools, ${receiptIds.length} tenants, Zipf`,
        app: 'bench-g',
        port: (rawServer.address() as AddressInfo).port,
        cap: receiptIds.length * CONNS_PER_POOL,
        nextTenant: () => receiptRank[receiptZipf()],
        results: [],
        peak: 0,
        kind: 'write',
        load: { operation: receiptOperation(() => ({})) },
      });
    }
    // Reference row.
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
        kind: 'read',
      });
    }

    for (const scenario of scenarios) {
      // Warm-up: JIT, prepared statements, a full pool table; (b) until its cache is in a steady state
      // (the bound below is a steady state's), at most 60s.
      const steady = scenario.app === 'bench-b' ? { durationMs: 60_000, maxRequests: WARMUP_REQUESTS } : { durationMs: 1_000 };
      await drive({ ...scenario, ...scenario.load, path: CURRENCIES_PATH, concurrency: CONCURRENCY, ...steady });
    }
    /** (b)'s new connections per request in the measured runs: its miss rate, against the ideal cache's. */
    const misses = { opened: 0, requests: 0 };
    for (let r = 0; r < RUNS; r++) {
      for (const scenario of scenarios) {
        const sampler = await sampleConnections(server.adminUrl, scenario.app);
        const pools = scenario.app === 'bench-b' ? scenario.pools : undefined;
        const openedBefore = pools?.stats().counters.connectionsOpened ?? 0;
        const result = await drive({
          ...scenario,
          ...scenario.load,
          path: CURRENCIES_PATH,
          concurrency: CONCURRENCY,
          durationMs: SECONDS * 1_000,
        });
        if (pools) {
          misses.opened += pools.stats().counters.connectionsOpened - openedBefore;
          misses.requests += result.requests;
        }
        scenario.peak = Math.max(scenario.peak, await sampler.stop());
        scenario.results.push(result);
        if (result.firstError) console.log(`${scenario.name}: first error: ${result.firstError}`);
      }
    }

    const rps = (s: Scenario) => median(s.results.map((r) => r.rps));
    const latencies = (s: Scenario) => s.results.flatMap((r) => r.latenciesMs);
    const errorsOf = (s: Scenario) => s.results.reduce((n, r) => n + r.errors, 0);
    const reads = scenarios.filter((s) => s.kind === 'read');
    const base = rps(scenarios[0] as Scenario);
    printTable(
      `requests/s through the middleware, token checked (${CONCURRENCY} concurrent clients, ${RUNS} x ${SECONDS}s, budget ${CONNECTIONS} connections, up to ${MAX_POOLS} pools of ${CONNS_PER_POOL})`,
      ['scenario', 'req/s (median)', 'vs (d)', 'p50 ms', 'p99 ms', 'errors', 'peak conns', 'cap'],
      reads.map((s) => [
        s.name,
        Math.round(rps(s)),
        (rps(s) / base).toFixed(2),
        percentile(latencies(s), 50),
        percentile(latencies(s), 99),
        errorsOf(s),
        s.peak,
        s.cap,
      ]),
    );
    const writeScenarios = scenarios.filter((s) => s.kind === 'write');
    if (writeScenarios.length > 0) {
      const rawRow = writeScenarios.find((s) => s.app === 'bench-g');
      printTable(
        `post a 10-line goods receipt: one operation = POST the receipt + POST /post (2 requests); ${CONCURRENCY} concurrent clients, ${RUNS} x ${SECONDS}s`,
        ['scenario', 'ops/s (median)', 'req/s', 'vs (g)', 'p50 ms', 'p99 ms', 'errors', 'peak conns', 'cap'],
        writeScenarios.map((s) => [
          s.name,
          Math.round(rps(s)),
          Math.round(2 * rps(s)),
          rawRow ? (rps(s) / rps(rawRow)).toFixed(2) : '-',
          percentile(latencies(s), 50),
          percentile(latencies(s), 99),
          errorsOf(s),
          s.peak,
          s.cap,
        ]),
      );
    }
    for (const s of scenarios) {
      const pools = s.pools?.stats();
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
      return s ? rps(s) / base : NaN;
    };
    if (ONLY.has('b') && ONLY.has('e')) {
      const rate = (key: string) => rps(scenarios.find((x) => x.app === `bench-${key}`) as Scenario);
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
    const errors = scenarios.reduce((n, s) => n + errorsOf(s), 0);
    const overCap = scenarios.filter((s) => s.peak > s.cap).map((s) => s.name);
    const f = scenarios.find((x) => x.app === 'bench-f');
    const g = scenarios.find((x) => x.app === 'bench-g');
    console.log(
      `targets: (a) >= 0.90 of (d): ${ratio('a').toFixed(2)}; (b) >= 0.70 of (d): ${ratio('b').toFixed(2)}; ` +
        `(f) of its raw bound (g): ${f && g ? (rps(f) / rps(g)).toFixed(2) : '-'}; ` +
        `errors: ${errors}; connections above the cap: ${overCap.length ? overCap.join(', ') : 'never'}`,
    );
  } finally {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    await Promise.all(services.map((s) => s.close({ deadlineMs: 2_000 })));
    await bare?.end();
    await raw?.end();
    await rt.close();
    await dropTenantDatabases(server.adminUrl, prefix);
    await server.dropPrefix(prefix); // the template and the meta database
    await server.stop();
  }
}
