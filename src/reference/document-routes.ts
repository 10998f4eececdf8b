/** /api/v1/documents/...: goods receipts, goods issues, inventory counts (contract stub). */
import type { Router } from './router.js';

export function registerDocumentRoutes(router: Router): void {
  void router;
}
