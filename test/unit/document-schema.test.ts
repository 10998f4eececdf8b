import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { DOCUMENT_DEFINITIONS } from '../../src/erp/documents/document-definitions.js';
import { readDocumentInput } from '../../src/erp/documents/document-input.js';
import { createSchema, documentSchema, listSchema, patchSchema } from '../../src/erp/documents/document-schema.js';

type Schema = { properties: Record<string, any>; required?: string[] };

/** What the reader says about a body: the fields it names, and with what. */
function problems(def: (typeof DOCUMENT_DEFINITIONS)[number], body: unknown, mode: 'create' | 'patch'): Record<string, string> {
  try {
    readDocumentInput(def, body, mode);
    return {};
  } catch (err) {
    if (err instanceof ValidationError) return err.fields;
    throw err;
  }
}

describe.each(DOCUMENT_DEFINITIONS.map((def) => [def.path, def] as const))('%s schemas', (_path, def) => {
  it('document exactly the fields the reader accepts, and require exactly those it requires', () => {
    const create = createSchema(def) as Schema;
    const line = create.properties.lines.items as Schema;
    // Every documented field is read (not refused as unknown), header and line alike.
    const body = Object.fromEntries(
      Object.keys(create.properties).map((k) => [
        k,
        k === 'lines' ? [Object.fromEntries(Object.keys(line.properties).map((f) => [f, 'x']))] : 'x',
      ]),
    );
    const named = problems(def, body, 'create');
    expect(Object.values(named)).not.toContain('unknown field');
    // The required lists are what an empty body is refused for.
    const empty = problems(def, { lines: [{}] }, 'create');
    expect(
      Object.keys(empty)
        .filter((k) => !k.startsWith('lines'))
        .sort(),
    ).toEqual(create.required?.filter((k) => k !== 'lines').sort());
    expect(
      Object.keys(empty)
        .filter((k) => k.startsWith('lines[0].'))
        .map((k) => k.slice('lines[0].'.length))
        .sort(),
    ).toEqual([...(line.required ?? [])].sort());
    expect(create.required).toContain('lines');
  });

  it('PATCH requires nothing and documents version and deletionMark', () => {
    const patch = patchSchema(def) as Schema;
    expect(patch.required).toBeUndefined();
    expect(Object.keys(patch.properties)).toEqual([...def.header.map((f) => f.name), 'lines', 'version', 'deletionMark']);
    expect(problems(def, {}, 'patch')).toEqual({});
  });

  it('answers with every header field, the bookkeeping and the lines with their read-only columns', () => {
    const doc = documentSchema(def) as Schema;
    for (const f of def.header) expect(doc.properties).toHaveProperty(f.name);
    expect(Object.keys(doc.properties)).toEqual(expect.arrayContaining(['id', 'posted', 'postedAt', 'deletionMark', 'version', 'lines']));
    expect('totalAmount' in doc.properties).toBe(def.priced);
    const line = doc.properties.lines.items as Schema;
    expect(Object.keys(line.properties)).toEqual(['lineNo', ...def.lines.map((f) => f.name), ...def.lineOutputs.map((f) => f.name)]);
    const list = listSchema(def) as Schema;
    expect(list.required).toEqual(['items', 'nextCursor']);
    expect(list.properties.items.items.properties).not.toHaveProperty('lines');
  });
});
