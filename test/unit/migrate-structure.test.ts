/**
 * The migration code's import structure, read from the source: no import
 * cycle in src/schema or src/migrate, and the `tenant migrate` command files
 * load the migrator (and Umzug, the prompts) only when a command runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/test-environment.js';

const SRC = path.join(REPO_ROOT, 'src');
const STATIC_IMPORT = /^\s*(?:import|export)\s[^'";]*?from\s+'([^']+)'/gm;
const TYPE_ONLY = /^\s*(?:import|export)\s+type\s/;

/** Relative imports of a file (type-only ones too: a cycle of types is still a cycle), as repo paths. */
function importsOf(file: string, { withTypes }: { withTypes: boolean }): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(STATIC_IMPORT)) {
    if (!withTypes && TYPE_ONLY.test(match[0])) continue;
    const spec = match[1] as string;
    found.push(spec.startsWith('.') ? path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts') : spec);
  }
  return found;
}

function cycleIn(folders: string[]): string[] | undefined {
  const files = folders.flatMap((folder) =>
    fs
      .readdirSync(path.join(SRC, folder))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(SRC, folder, f)),
  );
  const inside = new Set(files);
  const state = new Map<string, 'open' | 'done'>();
  const visit = (file: string, trail: string[]): string[] | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'open') return [...trail.slice(trail.indexOf(file)), file];
    state.set(file, 'open');
    for (const next of importsOf(file, { withTypes: true }).filter((f) => inside.has(f))) {
      const cycle = visit(next, [...trail, file]);
      if (cycle) return cycle;
    }
    state.set(file, 'done');
    return undefined;
  };
  for (const file of files) {
    const cycle = visit(file, []);
    if (cycle) return cycle.map((f) => path.relative(SRC, f));
  }
  return undefined;
}

describe('migration code structure', () => {
  it('has no import cycle in src/schema or src/migrate', () => {
    expect(cycleIn(['schema'])).toBeUndefined();
    expect(cycleIn(['migrate'])).toBeUndefined();
    expect(cycleIn(['schema', 'migrate'])).toBeUndefined();
  });

  it('loads the migrator, Umzug and the prompts in `tenant migrate` commands only when they run', () => {
    const heavy = /\/(schema|migrate)\/(database-migrator|umzug-runner|fleet-migrator|tenant-migrator|migration-runs)\.ts$|^umzug$|^@inquirer\//;
    const commands = fs
      .readdirSync(path.join(SRC, 'cli', 'commands'))
      .filter((f) => /^migrate.*\.ts$/.test(f))
      .map((f) => path.join(SRC, 'cli', 'commands', f));
    expect(commands.length).toBeGreaterThan(3);
    // What the command files load at start-up, following their own static imports within src/cli.
    const seen = new Set<string>();
    const queue = [...commands];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const dep of importsOf(file, { withTypes: false })) {
        expect(dep, `${path.relative(SRC, file)} imports ${dep} at start-up`).not.toMatch(heavy);
        if (dep.startsWith(path.join(SRC, 'cli'))) queue.push(dep);
      }
    }
  });
});
