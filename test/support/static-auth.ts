/**
 * A stand-in for the token service in tests of the catalog and document
 * routes, which are about those routes and not about login: the bearer token
 * is `role:<admin|clerk|viewer>` and grants that standard role's permissions
 * for the request's tenant. The real service (tokens, users, refresh) has its
 * own tests (api-auth); nothing else in the server differs.
 */
import { getTenant } from '../../src/context/tenant-context.js';
import type { ApiAuth } from '../../src/erp/auth/api-auth.js';
import { STANDARD_ROLES, isRoleCode, type Principal } from '../../src/erp/auth/permissions.js';
import { UnauthenticatedError, UsageError } from '../../src/errors.js';

export const STATIC_USER_ID = '00000000-0000-4000-8000-00000000a11e';

export function staticAuth(): ApiAuth {
  return {
    async authenticate(authorization) {
      const role = /^Bearer role:(\w+)$/.exec(authorization ?? '')?.[1];
      if (!isRoleCode(role)) throw new UnauthenticatedError();
      const principal: Principal = {
        userId: STATIC_USER_ID,
        email: `${role}@example.test`,
        tenantId: getTenant().id,
        roles: [role],
        permissions: new Set(STANDARD_ROLES[role].permissions),
      };
      return principal;
    },
    login: () => Promise.reject(new UsageError('staticAuth has no login')),
    refresh: () => Promise.reject(new UsageError('staticAuth has no refresh')),
    logout: () => Promise.resolve(),
  };
}

/** Headers for a request as `role` in `tenantId`. */
export function roleHeaders(tenantId: string, role: 'admin' | 'clerk' | 'viewer' = 'admin'): Record<string, string> {
  return { 'x-tenant-id': tenantId, authorization: `Bearer role:${role}` };
}
