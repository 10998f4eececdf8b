/** /api/v1/auth/login, /refresh, /logout (contract stub). */
import type { ApiAuth } from '../erp/auth/api-auth.js';
import type { Router } from './router.js';

export function registerAuthRoutes(router: Router, auth: ApiAuth): void {
  void router;
  void auth;
}
