/**
 * Permission codes and the standard roles. The codes are rows of the tenant
 * schema's `permissions` table (db/migrations/00002_auth.sql); the standard
 * roles are defined here, once, and written into a tenant database the first
 * time a user is given one (`admin` is seeded by the migration itself).
 */

export const PERMISSIONS = ['catalogs.read', 'catalogs.write', 'documents.read', 'documents.write', 'documents.post', 'admin'] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['admin', 'clerk', 'viewer'] as const;

export type RoleCode = (typeof ROLES)[number];

export interface RoleDefinition {
  code: RoleCode;
  name: string;
  description: string;
  permissions: readonly Permission[];
}

/** viewer reads; clerk also writes catalogs and documents; posting needs documents.post (admin has every permission). */
export const STANDARD_ROLES: Readonly<Record<RoleCode, RoleDefinition>> = {
  admin: {
    code: 'admin',
    name: 'Administrator',
    description: 'Built-in role with every permission',
    permissions: PERMISSIONS,
  },
  clerk: {
    code: 'clerk',
    name: 'Clerk',
    description: 'Reads and writes catalogs and documents; cannot post',
    permissions: ['catalogs.read', 'catalogs.write', 'documents.read', 'documents.write'],
  },
  viewer: {
    code: 'viewer',
    name: 'Viewer',
    description: 'Reads catalogs, documents and reports',
    permissions: ['catalogs.read', 'documents.read'],
  },
};

export function isRoleCode(value: unknown): value is RoleCode {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Who a request runs for, once its bearer token and the user's row have been checked. */
export interface Principal {
  userId: string;
  email: string;
  /** The tenant the token was issued for (always the request's tenant). */
  tenantId: string;
  roles: string[];
  permissions: ReadonlySet<string>;
}

/** admin implies every permission. */
export function hasPermission(principal: Principal, permission: Permission): boolean {
  return principal.permissions.has(permission) || principal.permissions.has('admin');
}
