/**
 * /api/v1/reports/stock-balances: the stock balance report (now, or at a
 * past moment with `at`), filtered by warehouse and item, paged by cursor.
 */
import { InputReader } from '../erp/input/input-reader.js';
import { finishQuery, readPage } from '../erp/input/list-page.js';
import { STOCK_REPORT_KEY, stockBalanceReport } from '../erp/stock/stock-balance-report.js';
import { sendJson } from '../server/http-errors.js';
import type { Router } from './router.js';

export const STOCK_BALANCES_PATH = '/api/v1/reports/stock-balances';

const DECIMAL = { type: 'string', description: 'a decimal string' };

const ITEM_SCHEMA = {
  type: 'object',
  required: ['warehouseId', 'warehouseCode', 'warehouseName', 'nomenclatureId', 'nomenclatureCode', 'nomenclatureName', 'quantity', 'amount'],
  properties: {
    warehouseId: { type: 'string', format: 'uuid' },
    warehouseCode: { type: 'string' },
    warehouseName: { type: 'string' },
    nomenclatureId: { type: 'string', format: 'uuid' },
    nomenclatureCode: { type: 'string' },
    nomenclatureName: { type: 'string' },
    quantity: { ...DECIMAL, description: 'Quantity on hand (scale 3)' },
    amount: { ...DECIMAL, description: 'Stock value (scale 2)' },
  },
};

export function registerReportRoutes(router: Router): void {
  router.add(
    'GET',
    STOCK_BALANCES_PATH,
    async ({ res, query }) => {
      const fields: Record<string, string> = {};
      const page = readPage(query, STOCK_REPORT_KEY, fields);
      // The filters are read like body fields, so a UUID or a timestamp means the same everywhere.
      const filters = new InputReader(
        {
          warehouse: query.get('warehouse') || undefined,
          nomenclature: query.get('nomenclature') || undefined,
          at: query.get('at') || undefined,
        },
        '',
        fields,
      );
      const warehouseId = filters.uuid('warehouse');
      const nomenclatureId = filters.uuid('nomenclature');
      const at = filters.timestamp('at');
      finishQuery(fields);
      sendJson(
        res,
        200,
        await stockBalanceReport({
          warehouseId: warehouseId ?? undefined,
          nomenclatureId: nomenclatureId ?? undefined,
          at: at ?? undefined,
          limit: page.limit,
          after: page.after,
        }),
      );
    },
    {
      access: { permission: 'documents.read' },
      doc: {
        summary: 'Stock balances per warehouse and item, now or at a past moment (rows with quantity or amount other than zero)',
        tag: 'Reports',
        query: [
          { name: 'warehouse', description: 'Only this warehouse (id)', schema: { type: 'string', format: 'uuid' } },
          { name: 'nomenclature', description: 'Only this item (id)', schema: { type: 'string', format: 'uuid' } },
          {
            name: 'at',
            description: 'Balances at this moment (movements dated up to and including it); default now',
            schema: { type: 'string', format: 'date-time' },
          },
          { name: 'limit', description: 'Rows per page, 1-500 (default 50)', schema: { type: 'integer', minimum: 1, maximum: 500 } },
          { name: 'cursor', description: 'nextCursor of the previous page', schema: { type: 'string' } },
        ],
        response: {
          status: 200,
          schema: {
            type: 'object',
            required: ['at', 'items', 'nextCursor'],
            properties: {
              at: { type: ['string', 'null'], format: 'date-time', description: 'The moment asked for; null: now' },
              items: { type: 'array', items: ITEM_SCHEMA },
              nextCursor: { type: ['string', 'null'] },
            },
          },
        },
      },
    },
  );
}
