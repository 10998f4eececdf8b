/** /api/v1/catalogs/...: the five catalogs (contract stub: filled by the catalogs work). */
import { registerCurrencyRoutes } from './currency-routes.js';
import type { Router } from './router.js';

export function registerCatalogRoutes(router: Router): void {
  registerCurrencyRoutes(router);
}
