/**
 * User administration inside a tenant scope (`withTenant(...)`): the CLI's
 * `tenant user` commands and the tests call these. Users are disabled, never
 * deleted (documents keep their authors); disabling revokes every refresh
 * token in the same transaction, and the next request with an access token
 * is refused because authentication reads `is_active` every time.
 */
import { getTxManager } from '../../context/tenant-context.js';
import { ConflictError, NotFoundError, isUniqueViolation } from '../../errors.js';
import { InputReader } from '../input/input-reader.js';
import type { UserView } from './api-auth.js';
import { EMAIL_MAX, EMAIL_PATTERN, FULL_NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, readSecret } from './auth-fields.js';
import { hashPassword } from './password-hash.js';
import { ROLES, STANDARD_ROLES, type RoleCode } from './permissions.js';
import { findUserByEmail, findUserById, listUserRows, userView } from './user-queries.js';

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
  lastLoginAt: string | null;
  createdAt: string;
}

const STATEMENT_TIMEOUT_MS = 5_000;

/** Email, password, role and name checked together: one ValidationError names every bad field. */
function readNewUser(input: NewUser): Omit<Required<NewUser>, 'fullName'> & { fullName: string | null } {
  const reader = new InputReader(input);
  const email = reader.text('email', {
    required: true,
    max: EMAIL_MAX,
    pattern: EMAIL_PATTERN,
  });
  const role = reader.oneOf('role', ROLES, { required: true });
  const fullName = reader.text('fullName', {
    max: FULL_NAME_MAX,
    nullable: true,
  });
  // Passwords are taken as typed: never trimmed, counted in characters.
  const password = readSecret(reader, 'password', { min: PASSWORD_MIN, max: PASSWORD_MAX, required: true });
  reader.rejectUnknown().finish('the user is invalid');
  return {
    email: email as string,
    password: password as string,
    role: role as RoleCode,
    fullName: fullName ?? null,
  };
}

/**
 * The standard role's row and its permissions, if missing (admin is seeded
 * by the migration; clerk and viewer appear the first time a user gets them).
 * Idempotent, so two first users at once both succeed.
 */
async function ensureStandardRole(code: RoleCode): Promise<void> {
  const role = STANDARD_ROLES[code];
  const tx = getTxManager();
  await tx.query('INSERT INTO roles (code, name, description, is_system) VALUES ($1, $2, $3, true) ON CONFLICT (code) DO NOTHING', [
    role.code,
    role.name,
    role.description,
  ]);
  await tx.query(
    `INSERT INTO role_permissions (role_id, permission_id)
     SELECT r.id, p.id FROM roles r JOIN permissions p ON p.code = ANY($2::text[]) WHERE r.code = $1
     ON CONFLICT DO NOTHING`,
    [role.code, [...role.permissions]],
  );
}

export async function addUser(input: NewUser): Promise<UserView> {
  const user = readNewUser(input);
  // Hashed before the transaction: scrypt's tens of milliseconds hold no connection.
  const passwordHash = await hashPassword(user.password);
  return getTxManager().run(
    async () => {
      await ensureStandardRole(user.role);
      let id: string;
      try {
        const { rows } = await getTxManager().query<{ id: string }>(
          'INSERT INTO users (email, password_hash, full_name) VALUES ($1, $2, $3) RETURNING id',
          [user.email, passwordHash, user.fullName],
        );
        id = (rows[0] as { id: string }).id;
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`a user with the email ${user.email} already exists`, { cause: err });
        throw err;
      }
      await getTxManager().query('INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE code = $2', [id, user.role]);
      return userView((await findUserById(id))!);
    },
    { statementTimeoutMs: STATEMENT_TIMEOUT_MS },
  );
}

export async function listUsers(): Promise<UserListItem[]> {
  const rows = await listUserRows();
  return rows.map((row) => ({
    id: row.id,
    email: row.email,
    fullName: row.full_name,
    roles: row.roles,
    isActive: row.is_active,
    lastLoginAt: row.last_login_at ? row.last_login_at.toISOString() : null,
    createdAt: row.created_at.toISOString(),
  }));
}

/** Sets is_active; disabling also revokes every refresh token of the user, in the same transaction. */
async function setActive(email: string, active: boolean): Promise<UserView> {
  return getTxManager().run(
    async () => {
      const tx = getTxManager();
      await tx.query('UPDATE users SET is_active = $2 WHERE lower(email) = lower($1) AND is_active <> $2', [email.trim(), active]);
      // Every time, not only on the change: a second `disable` still leaves no live refresh token.
      if (!active) {
        await tx.query(
          'UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND user_id = (SELECT id FROM users WHERE lower(email) = lower($1))',
          [email.trim()],
        );
      }
      // Already in the wanted state: answered as it is (idempotent), unknown: 404.
      const row = await findUserByEmail(email.trim());
      if (!row) throw new NotFoundError(`no user with the email ${email.trim()}`);
      return userView(row);
    },
    { statementTimeoutMs: STATEMENT_TIMEOUT_MS },
  );
}

export function disableUser(email: string): Promise<UserView> {
  return setActive(email, false);
}

export function enableUser(email: string): Promise<UserView> {
  return setActive(email, true);
}
