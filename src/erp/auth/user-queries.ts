/**
 * The SQL over users, their roles and permissions, shared by user
 * administration and the token service. Every statement runs through the
 * request's transaction manager (the tenant's own database: no tenant id in
 * any statement). Emails compare as lower(email), the unique index's key.
 */
import type pg from 'pg';
import { getTxManager } from '../../context/tenant-context.js';
import type { UserView } from './api-auth.js';

export interface UserRow {
  id: string;
  email: string;
  full_name: string | null;
  is_active: boolean;
  last_login_at: Date | null;
  created_at: Date;
  roles: string[];
  permissions: string[];
}

/** One row per user with its role codes and the permission codes they grant (sorted, distinct). */
const USER_SELECT = `
  SELECT u.id, u.email, u.full_name, u.is_active, u.last_login_at, u.created_at,
         COALESCE(array_agg(DISTINCT r.code) FILTER (WHERE r.code IS NOT NULL), '{}') AS roles,
         COALESCE(array_agg(DISTINCT p.code) FILTER (WHERE p.code IS NOT NULL), '{}') AS permissions
    FROM users u
    LEFT JOIN user_roles ur ON ur.user_id = u.id
    LEFT JOIN roles r ON r.id = ur.role_id
    LEFT JOIN role_permissions rp ON rp.role_id = r.id
    LEFT JOIN permissions p ON p.id = rp.permission_id`;

/** By id: the one query an authenticated request costs (named: prepared once per connection; the bench's raw bound runs it too). */
export function userByIdQuery(id: string): pg.QueryConfig {
  return { name: 'auth-user-by-id', text: `${USER_SELECT} WHERE u.id = $1 GROUP BY u.id`, values: [id] };
}

export async function findUserById(id: string): Promise<UserRow | undefined> {
  const { rows } = await getTxManager().query<UserRow>(userByIdQuery(id));
  return rows[0];
}

export async function findUserByEmail(email: string): Promise<UserRow | undefined> {
  const { rows } = await getTxManager().query<UserRow>(`${USER_SELECT} WHERE lower(u.email) = lower($1) GROUP BY u.id`, [email]);
  return rows[0];
}

export async function listUserRows(): Promise<UserRow[]> {
  const { rows } = await getTxManager().query<UserRow>(`${USER_SELECT} GROUP BY u.id ORDER BY lower(u.email), u.id`);
  return rows;
}

/** What login needs before it knows the password is right. */
export async function findCredentials(email: string): Promise<{ id: string; password_hash: string; is_active: boolean } | undefined> {
  const { rows } = await getTxManager().query<{
    id: string;
    password_hash: string;
    is_active: boolean;
  }>('SELECT id, password_hash, is_active FROM users WHERE lower(email) = lower($1)', [email]);
  return rows[0];
}

export function userView(row: UserRow): UserView {
  return {
    id: row.id,
    email: row.email,
    fullName: row.full_name,
    roles: row.roles,
    permissions: row.permissions,
  };
}
