/**
 * The one check for references from a row to catalog rows (a document's
 * warehouse, a line's item, an item's unit): each referenced row must exist
 * and not be marked for deletion, else 422 naming the field. The rows are
 * locked FOR SHARE until the transaction ends, so a concurrent deletion mark
 * (which takes FOR UPDATE and then looks for posted documents) waits for this
 * transaction and sees what it wrote.
 */
import { getTxManager } from '../../context/tenant-context.js';
import { UnknownReferenceError } from '../../errors.js';

/** Catalog name (as in the URL) -> table. The only place the five tables are named for references. */
export const CATALOG_TABLES = {
  currencies: 'currencies',
  units: 'units',
  warehouses: 'warehouses',
  counterparties: 'counterparties',
  nomenclature: 'nomenclature',
} as const;

export type CatalogName = keyof typeof CATALOG_TABLES;

export const CATALOG_NAMES = Object.keys(CATALOG_TABLES) as CatalogName[];

/** The singular noun for messages ("no warehouse with id ..."). */
export const CATALOG_NOUNS: Record<CatalogName, string> = {
  currencies: 'currency',
  units: 'unit',
  warehouses: 'warehouse',
  counterparties: 'counterparty',
  nomenclature: 'item',
};

export interface CatalogReference {
  /** The field as the client named it (`warehouseId`, `lines[2].nomenclatureId`). */
  field: string;
  catalog: CatalogName;
  id: string;
}

/**
 * Locks every referenced row (FOR SHARE) and throws UnknownReferenceError for
 * those that are missing or marked for deletion. Call inside tx.run().
 */
export async function lockReferences(references: readonly CatalogReference[]): Promise<void> {
  const byCatalog = new Map<CatalogName, Set<string>>();
  for (const ref of references) {
    const ids = byCatalog.get(ref.catalog) ?? new Set<string>();
    ids.add(ref.id);
    byCatalog.set(ref.catalog, ids);
  }
  const live = new Map<CatalogName, Set<string>>();
  // Catalogs in a fixed order, ids sorted: every transaction locks in the same order.
  for (const catalog of CATALOG_NAMES) {
    const ids = byCatalog.get(catalog);
    if (!ids) continue;
    const { rows } = await getTxManager().query<{ id: string }>({
      name: `references.lock.${catalog}`,
      text: `SELECT id FROM ${CATALOG_TABLES[catalog]} WHERE id = ANY($1::uuid[]) AND NOT deletion_mark ORDER BY id FOR SHARE`,
      values: [[...ids].sort()],
    });
    live.set(catalog, new Set(rows.map((r) => r.id)));
  }
  const fields: Record<string, string> = {};
  for (const ref of references) {
    if (!live.get(ref.catalog)?.has(ref.id))
      fields[ref.field] = `no ${CATALOG_NOUNS[ref.catalog]} with id ${ref.id} (or it is marked for deletion)`;
  }
  if (Object.keys(fields).length > 0) throw new UnknownReferenceError(fields);
}
