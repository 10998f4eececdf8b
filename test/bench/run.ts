/**
 * `npm run bench [name...]`: runs the benchmarks (all by default), each next
 * to its raw lower bound, and prints medians and ratios.
 *   create   tenant creation: template clone vs. migrations vs. raw createdb --template
 *   migrate  fleet migration vs. psql -f, and a no-op run over 1,000 tenants
 *   server   requests/s through the middleware vs. one bare pg.Pool
 *   cli      start-up of `tenant --help` and `tenant list --json` vs. node -e 0 and psql
 *   move     `tenant move` of a BENCH_MOVE_MB tenant: total and downtime vs. pg_dump | pg_restore
 *   fleet    1 vs 3 `tenant migrate --key` runners on one run of BENCH_FLEET_TENANTS tenants vs. psql -f via xargs -P
 *   status   `tenant status` over BENCH_STATUS_TENANTS (10,000) tenants vs. one psql GROUP BY
 */
const BENCHMARKS: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  create: () => import('./create.bench.js'),
  migrate: () => import('./migrate.bench.js'),
  server: () => import('./server.bench.js'),
  cli: () => import('./cli.bench.js'),
  move: () => import('./move.bench.js'),
  fleet: () => import('./fleet.bench.js'),
  status: () => import('./status.bench.js'),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(BENCHMARKS);
for (const name of names) {
  const load = BENCHMARKS[name];
  if (!load) {
    console.error(`unknown benchmark "${name}"; choose from ${Object.keys(BENCHMARKS).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n=== ${name} ===`);
  const started = Date.now();
  await (await load()).run();
  console.log(`(${name}: ${((Date.now() - started) / 1000).toFixed(1)}s)`);
}
