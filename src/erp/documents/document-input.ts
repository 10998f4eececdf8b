/**
 * A document body (POST or PATCH) read against its definition with the
 * shared InputReader: every bad field of the header and of every line is
 * reported at once (`lines[2].quantity`). Line amounts left out are
 * computed here (quantity × price, half-up to cents) and the total is
 * summed exactly, so what is stored is what the client can recompute.
 */
import { VERSION_RULE } from '../input/field-rule.js';
import type { CatalogReference } from '../catalogs/catalog-references.js';
import { InputReader } from '../input/input-reader.js';
import { fitsNumeric, fromScaled, multiplyRounded, toScaled } from './decimal-amount.js';
import { LINES_MAX, LINES_MIN, type DocumentDefinition } from './document-definitions.js';
import { readField } from './document-fields.js';

/** Column -> value, as it goes into SQL (decimals and timestamps as text). */
export type ColumnValues = Record<string, string | null>;

export interface DocumentInput {
  /** The header fields given (all required ones on create). */
  header: ColumnValues;
  /** Every line, in order (lineNo = index + 1), when the body has `lines`. */
  lines?: ColumnValues[];
  /** Sum of the line amounts (priced documents, when lines are given). */
  totalAmount?: string;
  /** Every catalog reference in the body, for lockReferences (422 naming the field). */
  references: CatalogReference[];
  /** PATCH: the version the client read (body), if it sent one. */
  version?: number;
  /** PATCH: true marks for deletion, false restores. */
  deletionMark?: boolean;
}

const AMOUNT_SCALE = 2;
const AMOUNT_PRECISION = 18;

/** Reads a POST (`create`) or PATCH (`patch`) body; throws one ValidationError naming every bad field. */
export function readDocumentInput(def: DocumentDefinition, body: unknown, mode: 'create' | 'patch'): DocumentInput {
  const reader = new InputReader(body);
  const input: DocumentInput = { header: {}, references: [] };
  for (const spec of def.header) {
    const value = readField(reader, spec, mode);
    if (value === undefined) continue;
    input.header[spec.column] = value;
    if (spec.kind === 'reference' && value !== null) input.references.push({ field: spec.name, catalog: spec.catalog, id: value });
  }
  if (mode === 'patch') {
    const version = reader.integer('version', VERSION_RULE);
    if (typeof version === 'number') input.version = version;
    const deletionMark = reader.boolean('deletionMark');
    if (typeof deletionMark === 'boolean') input.deletionMark = deletionMark;
  }
  const items = reader.items('lines', { required: mode === 'create', min: LINES_MIN, max: LINES_MAX });
  if (items) {
    input.lines = items.map((line) => readLine(def, line, input.references));
    if (def.uniqueItems) markDuplicateItems(items, input.lines);
    if (def.priced) {
      const total = input.lines.reduce((sum, line) => sum + (line.amount ? toScaled(line.amount, AMOUNT_SCALE) : 0n), 0n);
      if (!fitsNumeric(total, AMOUNT_PRECISION)) reader.fail('lines', 'the total of the line amounts is too large for numeric(18,2)');
      input.totalAmount = fromScaled(total, AMOUNT_SCALE);
    }
  }
  reader.rejectUnknown();
  reader.finish(`the ${def.noun} is invalid`);
  return input;
}

function readLine(def: DocumentDefinition, line: InputReader, references: CatalogReference[]): ColumnValues {
  const values: ColumnValues = {};
  for (const spec of def.lines) {
    const value = readField(line, spec, 'create');
    if (value === undefined || value === null) continue;
    values[spec.column] = value;
    if (spec.kind === 'reference') references.push({ field: line.field(spec.name), catalog: spec.catalog, id: value });
  }
  if (def.priced && values.amount === undefined && values.quantity && values.price) {
    const amount = multiplyRounded(values.quantity, 3, values.price, 2, AMOUNT_SCALE);
    if (fitsNumeric(amount, AMOUNT_PRECISION)) values.amount = fromScaled(amount, AMOUNT_SCALE);
    else line.fail('amount', 'quantity × price is too large for numeric(18,2)');
  }
  line.rejectUnknown();
  return values;
}

/** An item on two lines of an inventory count would count its difference twice. */
function markDuplicateItems(items: InputReader[], lines: ColumnValues[]): void {
  const first = new Map<string, number>();
  lines.forEach((line, i) => {
    const item = line.nomenclature_id;
    if (!item) return;
    const seen = first.get(item);
    if (seen === undefined) first.set(item, i);
    else items[i]?.fail('nomenclatureId', `the item is already counted on lines[${seen}]; one line per item`);
  });
}
