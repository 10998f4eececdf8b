/** GET /api/v1/openapi.json (contract stub). */
import type { Router } from './router.js';

export function registerOpenApiRoute(router: Router): void {
  void router;
}
