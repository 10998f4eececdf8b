/**
 * The five catalogs, one definition table each (db/migrations/00003_catalogs.sql
 * holds the tables). Everything the API does with a catalog reads these:
 * the input checks, the SQL, the responses and the OpenAPI schemas.
 */
import type { CatalogDefinition, CatalogUse } from './catalog-definition.js';
import { CATALOG_NOUNS, CATALOG_TABLES, type CatalogName } from './catalog-references.js';

const CODE = { column: 'code', required: true, description: 'The business key, unique among rows not marked for deletion' } as const;
const NAME = { kind: 'text', column: 'name', required: true, rule: { max: 200 }, description: 'The display name' } as const;

/** code is unique among live rows only: a code freed by a deletion mark can be used again. */
function codeUnique(name: CatalogName): CatalogDefinition['unique'] {
  return {
    [`${CATALOG_TABLES[name]}_code_live_key`]: {
      field: 'code',
      message: (values) =>
        `another ${CATALOG_NOUNS[name]} already has code ${JSON.stringify(values.code)} (codes are unique among rows not marked for deletion)`,
    },
  };
}

// Document tables (db/migrations/00004_documents.sql) whose posted rows pin a catalog row.
const RECEIPTS = { document: 'goods receipt', header: 'goods_receipts' } as const;
const ISSUES = { document: 'goods issue', header: 'goods_issues' } as const;
const COUNTS = { document: 'inventory count', header: 'inventory_counts' } as const;

function onHeaders(column: string, ...headers: (typeof RECEIPTS | typeof ISSUES | typeof COUNTS)[]): CatalogUse[] {
  return headers.map((h) => ({ ...h, column }));
}

export const CATALOG_DEFINITIONS: Readonly<Record<CatalogName, CatalogDefinition>> = {
  currencies: {
    name: 'currencies',
    table: CATALOG_TABLES.currencies,
    noun: CATALOG_NOUNS.currencies,
    fields: {
      code: {
        ...CODE,
        kind: 'text',
        rule: { min: 3, max: 3, pattern: { regex: /^[A-Z]{3}$/, hint: 'must be a three-letter ISO 4217 code in upper case, e.g. "USD"' } },
        description: 'ISO 4217 alphabetic code (e.g. USD), unique among rows not marked for deletion',
      },
      name: NAME,
      symbol: { kind: 'text', column: 'symbol', nullable: true, rule: { max: 8 }, description: 'The sign (e.g. $)' },
      decimalPlaces: { kind: 'integer', column: 'decimal_places', min: 0, max: 4, default: 2, description: 'Digits after the point' },
      isBase: { kind: 'boolean', column: 'is_base', default: false, description: 'The base currency (at most one)' },
    },
    unique: {
      ...codeUnique('currencies'),
      // The index covers rows marked for deletion too (the migration's choice).
      currencies_single_base_key: {
        field: 'isBase',
        message: () => 'isBase: another currency (perhaps one marked for deletion) is already the base currency; clear its isBase first',
      },
    },
    usedBy: onHeaders('currency_id', RECEIPTS, ISSUES),
  },
  units: {
    name: 'units',
    table: CATALOG_TABLES.units,
    noun: CATALOG_NOUNS.units,
    fields: {
      code: { ...CODE, kind: 'text', rule: { max: 32 } },
      name: NAME,
      symbol: { kind: 'text', column: 'symbol', nullable: true, rule: { max: 16 }, description: 'The short sign (e.g. kg)' },
    },
    unique: codeUnique('units'),
    // Items refer to units, but no posted document does.
    usedBy: [],
  },
  warehouses: {
    name: 'warehouses',
    table: CATALOG_TABLES.warehouses,
    noun: CATALOG_NOUNS.warehouses,
    fields: {
      code: { ...CODE, kind: 'text', rule: { max: 32 } },
      name: NAME,
      address: { kind: 'text', column: 'address', nullable: true, rule: { max: 500 }, description: 'Postal address' },
      isActive: { kind: 'boolean', column: 'is_active', default: true, description: 'In use for new documents' },
    },
    unique: codeUnique('warehouses'),
    usedBy: onHeaders('warehouse_id', RECEIPTS, ISSUES, COUNTS),
  },
  counterparties: {
    name: 'counterparties',
    table: CATALOG_TABLES.counterparties,
    noun: CATALOG_NOUNS.counterparties,
    fields: {
      code: { ...CODE, kind: 'text', rule: { max: 32 } },
      name: NAME,
      kind: {
        kind: 'enum',
        column: 'kind',
        values: ['customer', 'supplier', 'both'],
        default: 'both',
        description: 'Customer, supplier or both',
      },
      taxId: { kind: 'text', column: 'tax_id', nullable: true, rule: { max: 32 }, description: 'Tax identification number' },
      email: {
        kind: 'text',
        column: 'email',
        nullable: true,
        rule: { max: 254, pattern: { regex: /^[^\s@]+@[^\s@]+$/, hint: 'must be an e-mail address (name@domain)' } },
        description: 'Contact e-mail address',
      },
      phone: { kind: 'text', column: 'phone', nullable: true, rule: { max: 32 }, description: 'Contact phone number' },
    },
    unique: codeUnique('counterparties'),
    usedBy: onHeaders('counterparty_id', RECEIPTS, ISSUES),
  },
  nomenclature: {
    name: 'nomenclature',
    table: CATALOG_TABLES.nomenclature,
    noun: CATALOG_NOUNS.nomenclature,
    fields: {
      code: { ...CODE, kind: 'text', rule: { max: 64 } },
      name: NAME,
      kind: {
        kind: 'enum',
        column: 'kind',
        values: ['goods', 'service'],
        default: 'goods',
        description: 'Goods move stock when documents are posted; services do not',
      },
      unitId: { kind: 'reference', column: 'unit_id', catalog: 'units', nullable: true, description: 'The unit of measure (a units id)' },
      article: { kind: 'text', column: 'article', nullable: true, rule: { max: 64 }, description: 'Article (SKU)' },
      barcode: { kind: 'text', column: 'barcode', nullable: true, rule: { max: 64 }, description: 'Barcode' },
      description: { kind: 'text', column: 'description', nullable: true, rule: { max: 2000 }, description: 'Free text' },
    },
    unique: codeUnique('nomenclature'),
    usedBy: [
      { ...RECEIPTS, lines: 'goods_receipt_lines', column: 'nomenclature_id' },
      { ...ISSUES, lines: 'goods_issue_lines', column: 'nomenclature_id' },
      { ...COUNTS, lines: 'inventory_count_lines', column: 'nomenclature_id' },
    ],
  },
};

export function catalogDefinition(name: CatalogName): CatalogDefinition {
  return CATALOG_DEFINITIONS[name];
}
