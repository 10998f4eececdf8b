// Compare a vitest json-summary coverage report with the floor in
// test/coverage-floor.json (the same file vitest's thresholds read), print
// the level per metric, and exit 1 if any is under its floor or the report
// is missing. Usage: node .ci/coverage-floor.js [coverage/coverage-summary.json]
import { readFileSync } from 'node:fs';

const summaryPath = process.argv[2] ?? 'coverage/coverage-summary.json';
const floor = JSON.parse(readFileSync('test/coverage-floor.json', 'utf8'));
let total;
try {
  total = JSON.parse(readFileSync(summaryPath, 'utf8')).total;
} catch (error) {
  console.log(`coverage: no report at ${summaryPath} (${error.code ?? error.message})`);
  process.exit(1);
}
let below = 0;
for (const metric of ['statements', 'branches', 'functions', 'lines']) {
  const pct = total[metric].pct;
  const ok = pct >= floor[metric];
  if (!ok) below++;
  console.log(`coverage: ${metric.padEnd(10)} ${pct.toFixed(2)}% (floor ${floor[metric]}%)${ok ? '' : '  BELOW THE FLOOR'}`);
}
process.exit(below === 0 ? 0 : 1);
