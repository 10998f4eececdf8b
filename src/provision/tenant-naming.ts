/**
 * Slug rules and the deterministic slug -> database name mapping. Anything
 * that fails here never reaches SQL.
 */
import crypto from 'node:crypto';
import { InvalidSlugError, UsageError } from '../errors.js';
import { assertIdentifier } from '../pg/identifiers.js';
import { isServerHost } from '../validators.js';
import { escapeControlCharacters, hasControlCharacters } from '../control-characters.js';

const SLUG = /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/;
export const RESERVED_SLUGS = new Set(['postgres', 'template0', 'template1', 'template', 'meta', 'admin', 'public', 'default']);

export function validateSlug(raw: string, reservedDatabases: readonly string[] = []): string {
  const slug = raw;
  if (slug.length < 3 || slug.length > 40) {
    throw new InvalidSlugError(`slug must be 3 to 40 characters, got ${slug.length}: "${printable(slug)}"`);
  }
  if (!SLUG.test(slug)) {
    const why = /^[^a-z]/.test(slug)
      ? 'must start with a lower-case letter'
      : /-$/.test(slug)
        ? 'must not end with a hyphen'
        : 'may only contain lower-case letters, digits and hyphens';
    throw new InvalidSlugError(`slug "${printable(slug)}" ${why}`);
  }
  if (slug.includes('--')) throw new InvalidSlugError(`slug "${slug}" must not contain "--"`);
  if (RESERVED_SLUGS.has(slug) || reservedDatabases.includes(slug)) {
    throw new InvalidSlugError(`slug "${slug}" is reserved`);
  }
  return slug;
}

/** `acme-corp` with prefix `mt_` gives `mt_acme_corp` (injective: slugs never contain `_`). */
export function tenantDatabaseName(prefix: string, slug: string, reservedDatabases: readonly string[] = []): string {
  const name = assertIdentifier(`${prefix}${slug.replace(/-/g, '_')}`, 'database name');
  if (['postgres', 'template0', 'template1', ...reservedDatabases].includes(name)) {
    throw new InvalidSlugError(`slug "${slug}" would use the reserved database name "${name}"`);
  }
  return name;
}

/** The two roles of one tenant database: its NOLOGIN owner and its app login. */
export interface TenantRoleNames {
  owner: string;
  app: string;
}

const ROLE_SUFFIXES = { owner: '_owner', app: '_app' } as const;
const MAX_ROLE_NAME = 63;

/**
 * Roles are cluster-wide, so they are derived from the (unique) database
 * name: `mt_acme_corp` gives `mt_acme_corp_owner` and `mt_acme_corp_app`.
 * A name that would pass 63 bytes keeps a readable head and a hash of the
 * whole database name, so it stays unique and stable.
 */
export function tenantRoleNames(dbName: string): TenantRoleNames {
  assertIdentifier(dbName, 'database name');
  const longest = Math.max(...Object.values(ROLE_SUFFIXES).map((s) => s.length));
  const base =
    dbName.length + longest <= MAX_ROLE_NAME
      ? dbName
      : `${dbName.slice(0, MAX_ROLE_NAME - longest - 9)}_${crypto.createHash('sha256').update(dbName).digest('hex').slice(0, 8)}`;
  return {
    owner: assertIdentifier(`${base}${ROLE_SUFFIXES.owner}`, 'owner role name'),
    app: assertIdentifier(`${base}${ROLE_SUFFIXES.app}`, 'app role name'),
  };
}

/** The NOLOGIN role that owns the template's objects; no app role is ever a member of it. */
export function templateOwnerRole(prefix: string): string {
  return assertIdentifier(`${prefix}template_owner`, 'template owner role name');
}

export function templateDatabaseName(prefix: string): string {
  return assertIdentifier(`${prefix}template`, 'template database name');
}

export function validateDisplayName(raw: string): string {
  const name = raw.trim();
  if (!name) throw new UsageError('name must not be empty');
  if ([...name].length > 200) throw new UsageError('name must be at most 200 characters');
  if (hasControlCharacters(name)) throw new UsageError('name must not contain control characters');
  return name;
}

/** A host name or address for a tenant database (no URL, no spaces, nothing a terminal would act on). */
export function validateHost(raw: string | undefined): string {
  const host = raw ?? '';
  if (!isServerHost(host)) {
    throw new UsageError(`host "${printable(host)}" is not a valid host name or socket folder`);
  }
  return host;
}

function printable(value: string): string {
  const shown = escapeControlCharacters(value);
  return shown.length > 70 ? `${shown.slice(0, 67)}...` : shown;
}
