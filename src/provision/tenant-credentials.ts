/**
 * What `tenant credentials show` tells about a tenant's logins: its mode, its
 * roles, the secret's key id, version and last rotation, and a connection
 * URL with the password redacted. With `reveal`, the URL carries the real
 * password (for a tenant's BI access), and the reveal is audited with the
 * actor (never the password). Only a tenant's own app role is revealed: in
 * shared mode the password is every tenant's, so it is refused.
 */
import { InvalidStateError, TenantToolkitError } from '../errors.js';
import { withServer } from '../connection-url.js';
import type { TenantCredentials } from '../pg/connection-settings.js';
import type { TenantSecretStore } from '../secrets/tenant-secret-store.js';
import type { TenantRegistry } from '../tenants/tenant-registry.js';
import type { Tenant } from '../tenants/tenant.js';

/**
 * isolated: its own app login role (password sealed in tenant_secrets).
 * shared: its own owner role, served by the shared login (TENANT_DB_USER).
 * legacy: created before least privilege; the shared login owns and serves it.
 */
export type CredentialMode = 'isolated' | 'shared' | 'legacy';

export interface TenantCredentialInfo {
  tenantId: string;
  slug: string;
  mode: CredentialMode;
  ownerRole: string | null;
  appRole: string | null;
  /** The role the application logs in as (the app role, or the shared login). */
  loginRole: string;
  /** Key that seals the password, secret version and last rotation (isolated tenants with a secret on record). */
  keyId: string | null;
  secretVersion: number | null;
  rotatedAt: Date | null;
  /** A rotation was left half done (a next password is staged); `tenant credentials rotate` completes it. */
  rotating: boolean;
  /** Connection URL; the password is `***` unless revealed. */
  url: string;
  revealed: boolean;
}

export interface DescribeCredentialsDeps {
  registry: TenantRegistry;
  secrets: TenantSecretStore;
  connections: { tenant: TenantCredentials };
}

export interface DescribeCredentialsOptions {
  /** Put the real password in the URL (audited). */
  reveal?: boolean;
  /** Who asked (audit trail of a reveal). */
  actor: string;
}

export const REDACTED = '***';

export function credentialMode(tenant: Pick<Tenant, 'ownerRole' | 'appRole'>): CredentialMode {
  if (tenant.appRole !== null) return 'isolated';
  return tenant.ownerRole !== null ? 'shared' : 'legacy';
}

export async function describeTenantCredentials(
  deps: DescribeCredentialsDeps,
  ref: string,
  options: DescribeCredentialsOptions,
): Promise<TenantCredentialInfo> {
  const tenant = await deps.registry.resolve(ref);
  const mode = credentialMode(tenant);
  const shared = deps.connections.tenant;
  const loginRole = tenant.appRole ?? shared.user;
  const info = tenant.appRole !== null ? await deps.secrets.info(tenant.id) : undefined;
  const described: TenantCredentialInfo = {
    tenantId: tenant.id,
    slug: tenant.slug,
    mode,
    ownerRole: tenant.ownerRole,
    appRole: tenant.appRole,
    loginRole,
    keyId: info?.keyId ?? null,
    secretVersion: info?.version ?? null,
    rotatedAt: info?.rotatedAt ?? null,
    rotating: info?.rotating ?? false,
    url: connectionUrl(tenant, loginRole, REDACTED, shared),
    revealed: false,
  };
  if (!options.reveal) return described;

  if (tenant.appRole === null) {
    throw new InvalidStateError(`tenant "${tenant.slug}" has no login role of its own: its password is the shared one, not revealed`, {
      hint: `run \`tenant credentials isolate ${tenant.slug}\` to give it its own roles`,
    });
  }
  const secret = await deps.secrets.read(tenant.id);
  if (!secret || secret.role !== tenant.appRole) {
    throw new TenantToolkitError('AUTH_FAILED', `no password is recorded for role "${tenant.appRole}" of tenant "${tenant.slug}"`, {
      hint: `run \`tenant credentials rotate ${tenant.slug}\` to give the role a new password`,
      details: { role: tenant.appRole },
    });
  }
  if (secret.next !== undefined) {
    // The role has one of two passwords; which one, only the next login would tell.
    throw new InvalidStateError(`a rotation of tenant "${tenant.slug}" was left half done: its password is about to change`, {
      hint: `run \`tenant credentials rotate ${tenant.slug}\` to complete it, then reveal`,
    });
  }
  // Audited before it is handed out: a reveal that cannot be recorded does not happen.
  await deps.registry.audit(tenant, 'credentials.revealed', options.actor, { role: tenant.appRole, version: secret.version });
  return { ...described, url: connectionUrl(tenant, tenant.appRole, secret.current, shared), revealed: true };
}

/** postgresql://role:password@host:port/db (a socket folder as ?host=), with the configured sslmode. */
export function connectionUrl(tenant: Tenant, role: string, password: string, shared: Pick<TenantCredentials, 'sslMode'>): string {
  const base = `postgresql://${encodeURIComponent(role)}:${password === REDACTED ? REDACTED : encodeURIComponent(password)}@localhost/${encodeURIComponent(tenant.dbName)}`;
  const url = withServer(base, tenant.dbHost, tenant.dbPort);
  if (!shared.sslMode) return url;
  return `${url}${url.includes('?') ? '&' : '?'}sslmode=${shared.sslMode}`;
}
