/**
 * PLACEHOLDER for branch i14-cli only: h-auth owns this file (branch i14-auth)
 * and the merge takes theirs. It implements the brief's signatures just far
 * enough for the `tenant user` commands and their tests to run: addUser,
 * listUsers, disableUser, enableUser, in the current tenant scope.
 */
import { randomBytes, scrypt, type ScryptOptions } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import { getTxManager } from '../../context/tenant-context.js';
import type { UserView } from './api-auth.js';
import { STANDARD_ROLES, isRoleCode, type RoleCode } from './permissions.js';

export interface NewUser {
  email: string;
  password: string;
  role: RoleCode;
  fullName?: string | undefined;
}

export interface UserListItem {
  id: string;
  email: string;
  fullName: string | null;
  roles: string[];
  isActive: boolean;
  lastLoginAt: Date | null;
  createdAt: Date;
}

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 32, SCRYPT as ScryptOptions, (err, hash) => {
      if (err) reject(err);
      else resolve(`scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`);
    });
  });
}

export async function addUser(input: NewUser): Promise<UserView> {
  const email = input.email.trim();
  const fields: Record<string, string> = {};
  if (!/^[^@\s]+@[^@\s]+$/.test(email) || email.length > 254) fields.email = 'must be an e-mail address of at most 254 characters';
  if (input.password.length < 10 || input.password.length > 1024) fields.password = 'must be 10 to 1024 characters';
  if (!isRoleCode(input.role)) fields.role = 'must be one of admin, clerk, viewer';
  if (input.fullName !== undefined && input.fullName.length > 200) fields.fullName = 'must be at most 200 characters';
  if (Object.keys(fields).length > 0) throw new ValidationError(fields);
  const hash = await hashPassword(input.password);
  const role = STANDARD_ROLES[input.role];
  return getTxManager().run(async (client) => {
    await client.query('INSERT INTO roles (code, name, description, is_system) VALUES ($1, $2, $3, true) ON CONFLICT (code) DO NOTHING', [
      role.code,
      role.name,
      role.description,
    ]);
    await client.query(
      `INSERT INTO role_permissions (role_id, permission_id)
       SELECT r.id, p.id FROM roles r JOIN permissions p ON p.code = ANY($2::text[]) WHERE r.code = $1
       ON CONFLICT DO NOTHING`,
      [role.code, [...role.permissions]],
    );
    const taken = await client.query('SELECT 1 FROM users WHERE lower(email) = lower($1)', [email]);
    if ((taken.rowCount ?? 0) > 0) throw new ConflictError(`a user with the e-mail ${email} already exists`);
    const { rows } = await client.query<{ id: string; email: string; full_name: string | null }>(
      'INSERT INTO users (email, password_hash, full_name) VALUES ($1, $2, $3) RETURNING id, email, full_name',
      [email, hash, input.fullName ?? null],
    );
    const user = rows[0]!;
    await client.query('INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE code = $2', [user.id, role.code]);
    return { id: user.id, email: user.email, fullName: user.full_name, roles: [role.code], permissions: [...role.permissions] };
  });
}

export async function listUsers(): Promise<UserListItem[]> {
  const { rows } = await getTxManager().query<{
    id: string;
    email: string;
    full_name: string | null;
    roles: string[];
    is_active: boolean;
    last_login_at: Date | null;
    created_at: Date;
  }>(
    `SELECT u.id, u.email, u.full_name, u.is_active, u.last_login_at, u.created_at,
            coalesce(array_agg(r.code ORDER BY r.code) FILTER (WHERE r.code IS NOT NULL), '{}') AS roles
     FROM users u LEFT JOIN user_roles ur ON ur.user_id = u.id LEFT JOIN roles r ON r.id = ur.role_id
     GROUP BY u.id ORDER BY lower(u.email)`,
  );
  return rows.map((r) => ({
    id: r.id,
    email: r.email,
    fullName: r.full_name,
    roles: r.roles,
    isActive: r.is_active,
    lastLoginAt: r.last_login_at,
    createdAt: r.created_at,
  }));
}

async function setActive(email: string, active: boolean): Promise<UserView> {
  return getTxManager().run(async (client) => {
    const { rows } = await client.query<{ id: string; email: string; full_name: string | null }>(
      'UPDATE users SET is_active = $2 WHERE lower(email) = lower($1) RETURNING id, email, full_name',
      [email.trim(), active],
    );
    const user = rows[0];
    if (!user) throw new NotFoundError(`no user with the e-mail ${email.trim()}`);
    if (!active) await client.query('UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [user.id]);
    const perms = await client.query<{ role: string; permission: string | null }>(
      `SELECT r.code AS role, p.code AS permission FROM user_roles ur JOIN roles r ON r.id = ur.role_id
       LEFT JOIN role_permissions rp ON rp.role_id = r.id LEFT JOIN permissions p ON p.id = rp.permission_id
       WHERE ur.user_id = $1`,
      [user.id],
    );
    const roles = [...new Set(perms.rows.map((r) => r.role))].sort();
    const permissions = [...new Set(perms.rows.flatMap((r) => (r.permission ? [r.permission] : [])))].sort();
    return { id: user.id, email: user.email, fullName: user.full_name, roles, permissions };
  });
}

export function disableUser(email: string): Promise<UserView> {
  return setActive(email, false);
}

export function enableUser(email: string): Promise<UserView> {
  return setActive(email, true);
}
