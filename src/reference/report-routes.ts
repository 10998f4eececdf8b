/** /api/v1/reports/stock-balances (contract stub). */
import type { Router } from './router.js';

export function registerReportRoutes(router: Router): void {
  void router;
}
