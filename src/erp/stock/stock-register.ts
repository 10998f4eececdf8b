/**
 * What posting needs from the stock register beyond the schema's posting
 * functions: the book quantities of an inventory count, and the shortages a
 * goods issue left behind. Both run inside the posting transaction, after
 * the document's header is locked.
 */
import { getTxManager } from '../../context/tenant-context.js';
import type { StockShortage } from '../../errors.js';
import type { DocumentDefinition } from '../documents/document-definitions.js';

/**
 * Sets each line's quantity_book to the balance of its item in the
 * warehouse, leaving out this document's own movements (a re-post replaces
 * them). The balance rows are locked first, FOR UPDATE in key order as
 * post_inventory_count locks them, so nothing moves between this read and
 * the posting that follows in the same transaction.
 */
export async function fillBookQuantities(
  def: Pick<DocumentDefinition, 'linesTable' | 'recorderType'>,
  documentId: string,
  warehouseId: string,
): Promise<void> {
  const { linesTable, recorderType } = def;
  const tx = getTxManager();
  await tx.query({
    name: `stock.${linesTable}.book-lock`,
    text: `SELECT 1 FROM stock_balances b
           WHERE b.warehouse_id = $2
             AND b.nomenclature_id IN (SELECT nomenclature_id FROM ${linesTable} WHERE document_id = $1)
           ORDER BY b.nomenclature_id
           FOR UPDATE`,
    values: [documentId, warehouseId],
  });
  await tx.query({
    name: `stock.${linesTable}.book-fill`,
    text: `UPDATE ${linesTable} l
           SET quantity_book =
                 coalesce((SELECT b.quantity FROM stock_balances b
                           WHERE b.warehouse_id = $2 AND b.nomenclature_id = l.nomenclature_id), 0)
               - coalesce((SELECT sum(m.quantity) FROM stock_movements m
                           WHERE m.recorder_type = $3 AND m.recorder_id = $1 AND m.nomenclature_id = l.nomenclature_id), 0)
           WHERE l.document_id = $1`,
    values: [documentId, warehouseId, recorderType],
  });
}

/**
 * Items this document's movements left below zero, once per item (at its
 * first line): `requested` is what the document takes of it in all, and
 * `available` the balance without this document. Run right after posting,
 * in the same transaction: the posting function holds the balance rows.
 */
export async function findShortages(recorderType: string, documentId: string): Promise<StockShortage[]> {
  const { rows } = await getTxManager().query<{ line_no: number; nomenclature_id: string; requested: string; available: string }>({
    name: 'stock.shortages',
    text: `SELECT min(m.line_no) AS line_no, m.nomenclature_id,
                  (-sum(m.quantity))::text AS requested, (b.quantity - sum(m.quantity))::text AS available
           FROM stock_movements m
           JOIN stock_balances b ON b.warehouse_id = m.warehouse_id AND b.nomenclature_id = m.nomenclature_id
           WHERE m.recorder_type = $1 AND m.recorder_id = $2
           GROUP BY m.nomenclature_id, b.quantity
           HAVING b.quantity < 0
           ORDER BY min(m.line_no)`,
    values: [recorderType, documentId],
  });
  return rows.map((r) => ({ lineNo: r.line_no, nomenclatureId: r.nomenclature_id, requested: r.requested, available: r.available }));
}
