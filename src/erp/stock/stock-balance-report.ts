/**
 * The stock balance report: quantity and amount per warehouse and item,
 * now (from stock_balances, the running totals the movement triggers keep)
 * or at a past moment (the movements with period <= at, summed). Rows whose
 * quantity and amount are both zero are left out. Sorted by warehouse code,
 * item code (ids break ties between a live code and a deleted one), paged by
 * keyset on that key.
 */
import { getTxManager } from '../../context/tenant-context.js';
import { pageOf, type KeyPart } from '../input/list-page.js';

export interface StockReportQuery {
  warehouseId: string | undefined;
  nomenclatureId: string | undefined;
  /** ISO timestamp; undefined: now. */
  at: string | undefined;
  limit: number;
  after: string[] | undefined;
}

export interface StockBalanceItem {
  warehouseId: string;
  warehouseCode: string;
  warehouseName: string;
  nomenclatureId: string;
  nomenclatureCode: string;
  nomenclatureName: string;
  quantity: string;
  amount: string;
}

export interface StockReport {
  at: string | null;
  items: StockBalanceItem[];
  nextCursor: string | null;
}

/** The sort key in a cursor: warehouse code, item code, warehouse id, item id. */
export const STOCK_REPORT_KEY: readonly KeyPart[] = ['text', 'text', 'uuid', 'uuid'];

interface Row {
  warehouse_id: string;
  warehouse_code: string;
  warehouse_name: string;
  nomenclature_id: string;
  nomenclature_code: string;
  nomenclature_name: string;
  quantity: string;
  amount: string;
}

const CURRENT = `SELECT warehouse_id, nomenclature_id, quantity, amount FROM stock_balances
                 WHERE ($1::uuid IS NULL OR warehouse_id = $1) AND ($2::uuid IS NULL OR nomenclature_id = $2)`;

const AT_DATE = `SELECT warehouse_id, nomenclature_id, sum(quantity) AS quantity, sum(amount) AS amount FROM stock_movements
                 WHERE period <= $8 AND ($1::uuid IS NULL OR warehouse_id = $1) AND ($2::uuid IS NULL OR nomenclature_id = $2)
                 GROUP BY warehouse_id, nomenclature_id`;

function reportSql(source: string): string {
  return `SELECT b.warehouse_id, w.code AS warehouse_code, w.name AS warehouse_name,
                 b.nomenclature_id, n.code AS nomenclature_code, n.name AS nomenclature_name,
                 b.quantity::text AS quantity, b.amount::text AS amount
          FROM (${source}) b
          JOIN warehouses w ON w.id = b.warehouse_id
          JOIN nomenclature n ON n.id = b.nomenclature_id
          WHERE (b.quantity <> 0 OR b.amount <> 0)
            AND ($3::text IS NULL OR (w.code, n.code, b.warehouse_id, b.nomenclature_id) > ($3::text, $4::text, $5::uuid, $6::uuid))
          ORDER BY w.code, n.code, b.warehouse_id, b.nomenclature_id
          LIMIT $7`;
}

const CURRENT_SQL = reportSql(CURRENT);
const AT_DATE_SQL = reportSql(AT_DATE);

export async function stockBalanceReport(query: StockReportQuery): Promise<StockReport> {
  const after = query.after ?? [null, null, null, null];
  const values: unknown[] = [query.warehouseId ?? null, query.nomenclatureId ?? null, ...after, query.limit + 1];
  const { rows } = await getTxManager().query<Row>(
    query.at === undefined
      ? { name: 'stock.report.current', text: CURRENT_SQL, values }
      : { name: 'stock.report.at', text: AT_DATE_SQL, values: [...values, query.at] },
  );
  const page = pageOf(
    rows,
    query.limit,
    (r) => [r.warehouse_code, r.nomenclature_code, r.warehouse_id, r.nomenclature_id],
    (r): StockBalanceItem => ({
      warehouseId: r.warehouse_id,
      warehouseCode: r.warehouse_code,
      warehouseName: r.warehouse_name,
      nomenclatureId: r.nomenclature_id,
      nomenclatureCode: r.nomenclature_code,
      nomenclatureName: r.nomenclature_name,
      quantity: r.quantity,
      amount: r.amount,
    }),
  );
  return { at: query.at ?? null, ...page };
}
