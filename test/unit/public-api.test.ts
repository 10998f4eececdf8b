/**
 * src/index.ts exports exactly what the README's "What the library exports"
 * lists: a bullet per runtime name, its type-only companions after "Types:".
 * Adding an export without documenting it (or documenting one that is gone)
 * fails here.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const INDEX = `${root}src/index.ts`;
const SECTION = '### What the library exports';

interface Documented {
  values: string[];
  types: string[];
}

function documentedExports(): Documented {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const start = readme.indexOf(SECTION);
  if (start < 0) throw new Error(`README has no "${SECTION}" section`);
  const rest = readme.slice(start + SECTION.length);
  const end = rest.search(/^#{1,3} /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  const values: string[] = [];
  const types: string[] = [];
  for (const line of section.split('\n')) {
    const bullet = /^- `(\w+)`: \S/.exec(line);
    if (!bullet) continue;
    values.push(bullet[1]!);
    const typeList = /\bTypes: (.+)$/.exec(line);
    if (typeList) for (const m of typeList[1]!.matchAll(/`(\w+)`/g)) types.push(m[1]!);
  }
  return { values, types };
}

/** Every name src/index.ts exports, values and types alike, as the compiler sees them. */
function compiledExports(): string[] {
  const program = ts.createProgram([INDEX], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(INDEX);
  const symbol = source && checker.getSymbolAtLocation(source);
  if (!symbol) throw new Error('src/index.ts did not compile to a module');
  return checker.getExportsOfModule(symbol).map((s) => s.getName());
}

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();
const duplicates = (names: string[]) => names.filter((n, i) => names.indexOf(n) !== i);

describe('public API', () => {
  const documented = documentedExports();

  it('lists each name once in the README', () => {
    expect(duplicates([...documented.values, ...documented.types])).toEqual([]);
  });

  it('exports at runtime exactly the values the README lists', async () => {
    const api = await import('../../src/index.js');
    expect(sorted(Object.keys(api))).toEqual(sorted(documented.values));
  });

  it('exports exactly the types the README lists', { timeout: 60_000 }, async () => {
    const api = await import('../../src/index.js');
    const runtime = new Set(Object.keys(api));
    const typeOnly = compiledExports().filter((name) => !runtime.has(name));
    expect(sorted(typeOnly)).toEqual(sorted(documented.types));
  });

  it('does not export the reference application or internals', async () => {
    const api: Record<string, unknown> = await import('../../src/index.js');
    for (const name of ['createApp', 'Router', 'currencyRepository', 'runWorkQueue', 'TemplateDatabase', 'quoteIdent']) {
      expect(api[name], name).toBeUndefined();
    }
  });
});
