/**
 * Renders `tenant user` results: the user just added, the users table and
 * its JSON, and the line of a disable or enable. Every stored string goes
 * through `shown()` (e-mails and names are typed by people, and may hold
 * anything). No password or hash ever reaches this module.
 */
import type { ChalkInstance } from 'chalk';
import { makeTable } from './table.js';
import { detailBlock, shown } from './tenant-view.js';

/** The tenant a command ran for, as far as the view needs it. */
export interface TenantRef {
  id: string;
  slug: string;
}

/** A user as addUser / disableUser / enableUser return it (UserView). */
export interface UserDetails {
  id: string;
  email: string;
  fullName: string | null;
  roles: readonly string[];
  permissions: readonly string[];
}

/** A row of listUsers(). Timestamps may come as Date (pg) or ISO text. */
export interface UserListRow {
  id: string;
  email: string;
  fullName: string | null;
  roles: readonly string[];
  isActive: boolean;
  lastLoginAt: Date | string | null;
  createdAt: Date | string;
}

export type UserChange = 'disabled' | 'enabled';

function iso(value: Date | string | null): string | null {
  if (value === null) return null;
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

/** A list of codes for people: `-` when there is none. */
function codes(values: readonly string[]): string {
  return values.length === 0 ? '-' : values.map(shown).join(', ');
}

export function userJson(tenant: TenantRef, user: UserDetails): Record<string, unknown> {
  return {
    tenantId: tenant.id,
    slug: tenant.slug,
    id: user.id,
    email: user.email,
    fullName: user.fullName,
    roles: [...user.roles],
    permissions: [...user.permissions],
  };
}

/** The block printed after `tenant user add`. */
export function addedUserText(c: ChalkInstance, tenant: TenantRef, user: UserDetails): string {
  const title = `user ${c.bold(shown(user.email))} added to ${c.bold(shown(tenant.slug))}`;
  const block = detailBlock(c, [
    ['id', shown(user.id)],
    ['email', shown(user.email)],
    ['name', user.fullName === null ? '-' : shown(user.fullName)],
    ['roles', codes(user.roles)],
    ['permissions', codes(user.permissions)],
  ]);
  return `${c.green('✔')} ${title}\n${block}`;
}

export function userChangeJson(tenant: TenantRef, user: UserDetails, change: UserChange): Record<string, unknown> {
  return { ...userJson(tenant, user), isActive: change === 'enabled' };
}

/** One line for `tenant user disable` / `enable`. */
export function userChangeText(c: ChalkInstance, tenant: TenantRef, user: UserDetails, change: UserChange): string {
  const state = change === 'disabled' ? c.yellow('disabled') : c.green('enabled');
  const tail = change === 'disabled' ? ': signed out everywhere (refresh tokens revoked; access tokens refused at once)' : '';
  return `user ${c.bold(shown(user.email))} of ${c.bold(shown(tenant.slug))} ${state}${tail}`;
}

export function userListJson(users: readonly UserListRow[]): Record<string, unknown>[] {
  return users.map((u) => ({
    id: u.id,
    email: u.email,
    fullName: u.fullName,
    roles: [...u.roles],
    isActive: u.isActive,
    lastLoginAt: iso(u.lastLoginAt),
    createdAt: iso(u.createdAt),
  }));
}

/** The users table: bordered on a terminal, aligned plain columns in a pipe. */
export function userTable(c: ChalkInstance, users: readonly UserListRow[], plain: boolean): string {
  const table = makeTable(c, ['email', 'name', 'roles', 'status', 'last login', 'created', 'id'], plain);
  for (const u of users) {
    table.push([
      shown(u.email),
      u.fullName === null ? '-' : shown(u.fullName),
      codes(u.roles),
      u.isActive ? c.green('active') : c.yellow('disabled'),
      iso(u.lastLoginAt) ?? 'never',
      iso(u.createdAt) ?? '-',
      shown(u.id),
    ]);
  }
  return table.toString();
}

/** The line under the table (or instead of it). */
export function userCountText(tenant: TenantRef, users: readonly UserListRow[]): string {
  if (users.length === 0)
    return `No users in ${shown(tenant.slug)} yet. Add one with \`tenant user add ${shown(tenant.slug)} --email <e-mail> --role admin\`.`;
  const disabled = users.filter((u) => !u.isActive).length;
  return `${users.length} user${users.length === 1 ? '' : 's'}${disabled > 0 ? ` (${disabled} disabled)` : ''}`;
}
