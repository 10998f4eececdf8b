/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for
 * tests: every line is a HELP, a TYPE or a sample; every sample belongs to a
 * family declared with TYPE before it; label values are quoted and escaped;
 * values are numbers; histograms have ordered `le` buckets ending in +Inf,
 * a _sum and a _count equal to the +Inf bucket. Throws on the first problem.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** The sum of every sample of `name` whose labels include `labels`. */
  value(name: string, labels?: Record<string, string>): number;
  /** Samples of `name` (whose labels include `labels`). */
  find(name: string, labels?: Record<string, string>): Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`;
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (\\S+)(?: -?\\d+)?$`);
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (types.get(base) === 'histogram' || types.get(base) === 'summary') return base;
    }
  }
  return undefined;
}

function parseValue(text: string, line: string): number {
  // Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes `Nan`).
  if (/^\+?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  const value = Number(text);
  if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text) || !Number.isFinite(value)) throw new Error(`bad value in: ${line}`);
  return value;
}

export function parseExposition(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const type = new RegExp(`^# TYPE (${NAME}) (\\w+)$`).exec(line);
      if (type) {
        if (!TYPES.has(type[2]!)) throw new Error(`unknown type in: ${line}`);
        if (types.has(type[1]!)) throw new Error(`TYPE declared twice: ${line}`);
        types.set(type[1]!, type[2]!);
        continue;
      }
      if (new RegExp(`^# HELP ${NAME} `).test(line)) continue;
      throw new Error(`bad comment line: ${line}`);
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`bad sample line: ${line}`);
    const name = match[1]!;
    if (!familyOf(name, types)) throw new Error(`sample before its TYPE: ${line}`);
    const labels: Record<string, string> = {};
    for (const m of (match[2] ?? '').matchAll(new RegExp(LABEL, 'g'))) {
      if (m[1]! in labels) throw new Error(`label twice in: ${line}`);
      labels[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    samples.push({ name, labels, value: parseValue(match[match.length - 1]!, line) });
  }
  checkHistograms(types, samples);
  const matches = (s: Sample, name: string, labels: Record<string, string>) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  const find = (name: string, labels: Record<string, string> = {}) => samples.filter((s) => matches(s, name, labels));
  return { types, samples, find, value: (name, labels) => find(name, labels).reduce((n, s) => n + s.value, 0) };
}

function checkHistograms(types: Map<string, string>, samples: Sample[]): void {
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${family}_bucket without le`);
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      const bounds = buckets.map((b) => parseValue(b.labels.le!, key));
      if (bounds.at(-1) !== Infinity) throw new Error(`${family}${key}: no +Inf bucket`);
      for (let i = 1; i < buckets.length; i++) {
        if (!(bounds[i]! > bounds[i - 1]!) || buckets[i]!.value < buckets[i - 1]!.value)
          throw new Error(`${family}${key}: buckets out of order`);
      }
      const labels = JSON.parse(key) as Record<string, string>;
      const same = (s: Sample) => JSON.stringify(s.labels) === JSON.stringify(labels);
      const count = samples.find((s) => s.name === `${family}_count` && same(s));
      const sum = samples.find((s) => s.name === `${family}_sum` && same(s));
      if (!count || !sum) throw new Error(`${family}${key}: no _count or _sum`);
      if (count.value !== buckets.at(-1)!.value) throw new Error(`${family}${key}: _count differs from the +Inf bucket`);
    }
  }
}
