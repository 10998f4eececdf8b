/**
 * The three document types, each described once: URL segment, tables,
 * register recorder type, posting function, header and line fields. The
 * generic repository, service, routes and schemas are driven by these
 * tables; nothing else names a document table or column.
 */
import type { FieldSpec } from './document-fields.js';

export interface DocumentDefinition {
  /** The URL segment under /api/v1/documents. */
  path: 'goods-receipts' | 'goods-issues' | 'inventory-counts';
  table: 'goods_receipts' | 'goods_issues' | 'inventory_counts';
  linesTable: 'goods_receipt_lines' | 'goods_issue_lines' | 'inventory_count_lines';
  /** stock_movements.recorder_type (and unpost_document's first argument). */
  recorderType: 'goods_receipt' | 'goods_issue' | 'inventory_count';
  postFunction: 'post_goods_receipt' | 'post_goods_issue' | 'post_inventory_count';
  /** For messages: "goods receipt 42 is posted". */
  noun: string;
  /** For the API documentation: "Goods receipts". */
  title: string;
  header: readonly FieldSpec[];
  lines: readonly FieldSpec[];
  /** Read-only line columns the API answers (filled by posting). */
  lineOutputs: readonly FieldSpec[];
  /** Lines carry quantity × price = amount, and the header a total_amount. */
  priced: boolean;
  /** At most one line per item (the table's unique key): 400 naming the line. */
  uniqueItems: boolean;
  /** Before posting, each line's quantity_book is set from the balance (inventory counts). */
  fillsBookQuantity: boolean;
  /** Posting must not take stock below zero (409 INSUFFICIENT_STOCK naming the lines). */
  checksStock: boolean;
}

const NUMBER: FieldSpec = {
  kind: 'text',
  name: 'number',
  column: 'number',
  required: true,
  rule: { max: 64 },
  description: 'Document number, unique among the live documents of this type',
};
const DATE: FieldSpec = {
  kind: 'timestamp',
  name: 'date',
  column: 'date',
  description: 'Business date of the document (default: now); movements are dated by it',
};
const WAREHOUSE: FieldSpec = {
  kind: 'reference',
  name: 'warehouseId',
  column: 'warehouse_id',
  catalog: 'warehouses',
  required: true,
  description: 'The warehouse (catalogs/warehouses)',
};
const COUNTERPARTY: FieldSpec = {
  kind: 'reference',
  name: 'counterpartyId',
  column: 'counterparty_id',
  catalog: 'counterparties',
  nullable: true,
  description: 'The supplier or customer (catalogs/counterparties), or null',
};
const CURRENCY: FieldSpec = {
  kind: 'reference',
  name: 'currencyId',
  column: 'currency_id',
  catalog: 'currencies',
  nullable: true,
  description: 'The document currency (catalogs/currencies); null means the base currency',
};
const COMMENT: FieldSpec = {
  kind: 'text',
  name: 'comment',
  column: 'comment',
  nullable: true,
  rule: { max: 2000 },
  description: 'Free text',
};

const ITEM: FieldSpec = {
  kind: 'reference',
  name: 'nomenclatureId',
  column: 'nomenclature_id',
  catalog: 'nomenclature',
  required: true,
  description: 'The item (catalogs/nomenclature); only goods move stock',
};
const QUANTITY: FieldSpec = {
  kind: 'decimal',
  name: 'quantity',
  column: 'quantity',
  required: true,
  rule: { precision: 18, scale: 3, sign: 'positive' },
  description: 'Quantity',
};
const PRICE: FieldSpec = {
  kind: 'decimal',
  name: 'price',
  column: 'price',
  required: true,
  rule: { precision: 18, scale: 2, sign: 'non-negative' },
  description: 'Price per unit',
};
/** Optional on input: quantity × price rounded half-up to 2 places when left out. */
const AMOUNT: FieldSpec = {
  kind: 'decimal',
  name: 'amount',
  column: 'amount',
  rule: { precision: 18, scale: 2, sign: 'non-negative' },
  description: 'Line amount (default: quantity × price, rounded half-up to 2 places)',
};
const QUANTITY_ACTUAL: FieldSpec = {
  kind: 'decimal',
  name: 'quantityActual',
  column: 'quantity_actual',
  required: true,
  rule: { precision: 18, scale: 3, sign: 'non-negative' },
  description: 'Quantity found in the warehouse',
};
const QUANTITY_BOOK: FieldSpec = {
  kind: 'decimal',
  name: 'quantityBook',
  column: 'quantity_book',
  rule: { precision: 18, scale: 3 },
  description: 'Quantity on the books, set from the balance when the count is posted',
};
const DIFFERENCE: FieldSpec = {
  kind: 'decimal',
  name: 'difference',
  column: 'difference',
  rule: { precision: 18, scale: 3 },
  description: 'quantityActual - quantityBook: the surplus (+) or shortage (-) posted',
};

export const GOODS_RECEIPTS: DocumentDefinition = {
  path: 'goods-receipts',
  table: 'goods_receipts',
  linesTable: 'goods_receipt_lines',
  recorderType: 'goods_receipt',
  postFunction: 'post_goods_receipt',
  noun: 'goods receipt',
  title: 'Goods receipts',
  header: [NUMBER, DATE, WAREHOUSE, COUNTERPARTY, CURRENCY, COMMENT],
  lines: [ITEM, QUANTITY, PRICE, AMOUNT],
  lineOutputs: [],
  priced: true,
  uniqueItems: false,
  fillsBookQuantity: false,
  checksStock: false,
};

export const GOODS_ISSUES: DocumentDefinition = {
  path: 'goods-issues',
  table: 'goods_issues',
  linesTable: 'goods_issue_lines',
  recorderType: 'goods_issue',
  postFunction: 'post_goods_issue',
  noun: 'goods issue',
  title: 'Goods issues',
  header: [NUMBER, DATE, WAREHOUSE, COUNTERPARTY, CURRENCY, COMMENT],
  lines: [ITEM, QUANTITY, PRICE, AMOUNT],
  lineOutputs: [],
  priced: true,
  uniqueItems: false,
  fillsBookQuantity: false,
  checksStock: true,
};

export const INVENTORY_COUNTS: DocumentDefinition = {
  path: 'inventory-counts',
  table: 'inventory_counts',
  linesTable: 'inventory_count_lines',
  recorderType: 'inventory_count',
  postFunction: 'post_inventory_count',
  noun: 'inventory count',
  title: 'Inventory counts',
  header: [NUMBER, DATE, WAREHOUSE, COMMENT],
  lines: [ITEM, QUANTITY_ACTUAL],
  lineOutputs: [QUANTITY_BOOK, DIFFERENCE],
  priced: false,
  uniqueItems: true,
  fillsBookQuantity: true,
  checksStock: false,
};

export const DOCUMENT_DEFINITIONS: readonly DocumentDefinition[] = [GOODS_RECEIPTS, GOODS_ISSUES, INVENTORY_COUNTS];

/** Lines per document, on create and when a PATCH replaces them. */
export const LINES_MIN = 1;
export const LINES_MAX = 1000;
