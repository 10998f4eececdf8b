/**
 * Rotation of tenant app-role passwords, online: `tenant credentials rotate`.
 *
 * The protocol, per tenant (readers: src/pools/tenant-login.ts):
 *   1. stageNext(P2)            the meta database records the next password
 *                               before the role has it;
 *   2. ALTER ROLE app PASSWORD  the SCRAM verifier of P2, computed here (the
 *                               plaintext never reaches the server or its log),
 *                               over an admin connection to the tenant's server;
 *   3. promoteNext              current = P2, next = none, audited, NOTIFY.
 * Connections already open keep working (PostgreSQL authenticates only at
 * connect). A server opening a connection uses `current`; refused, it re-reads
 * and tries `next`, so a kill -9 after any step leaves the tenant reachable,
 * and the next rotation finds the staged password and completes it (step 2
 * again with the same P2, then 3) instead of staging another.
 *
 * One rotation per tenant at a time (an advisory lock on the meta database,
 * held for the tenant's three steps); another one running is a failure of
 * that tenant, not a wait. Shared-mode tenants (no app role of their own)
 * are refused with a hint to isolate them first. Returns one result per
 * tenant; never throws for one tenant's failure.
 */
import type pg from 'pg';
import { InvalidStateError, TenantToolkitError, toToolkitError } from '../errors.js';
import { withAdminConnection, type AdminAccess, type AdminUrls } from '../pg/admin-connection.js';
import { adminAccess } from '../pg/connection-settings.js';
import { roleIdent } from '../pg/identifiers.js';
import { serverKey } from '../pg/server-key.js';
import { withConnection } from '../pg/with-helpers.js';
import { randomPassword } from '../secrets/random-password.js';
import { scramSha256Verifier } from '../secrets/scram-verifier.js';
import type { TenantSecretStore } from '../secrets/tenant-secret-store.js';
import { notifyTenantChange, type TenantRegistry } from '../tenants/tenant-registry.js';
import type { Tenant } from '../tenants/tenant.js';
import { runWorkQueue } from '../migrate/work-queue.js';
import { errorOf as fleetErrorOf, type FleetTenantError } from '../migrate/fleet-result.js';
import { advisoryKey } from '../pg/identifiers.js';
import { withTryLock } from './database-admin.js';
import { CONVERTIBLE } from './credential-isolation.js';

/** A Runtime has all of these. */
export interface CredentialDeps {
  registry: TenantRegistry;
  metaPool: pg.Pool;
  secrets: TenantSecretStore;
  connections: {
    /** Each tenant's credential lock is held on a connection of its own here (not the pool's: it could run dry). */
    metaUrl: string;
    /** Admin login (POSTGRES_ADMIN_URL / embedded superuser); pointed at each tenant's server. */
    adminUrl: string;
    /** Each registered server's own admin login, when the registry is loaded. */
    admins?: AdminUrls;
  };
}

export type RotationStatus = 'rotated' | 'failed' | 'skipped';

/** A tenant's failure in a result: the fleet's shape (code, redacted message, hint). */
export type CredentialError = FleetTenantError;

export interface RotationResult {
  tenantId: string;
  slug: string;
  status: RotationStatus;
  role: string | null;
  /** A rotation left half done (a staged next password) was completed. */
  resumed: boolean;
  /** The secret's version after the rotation (null unless rotated). */
  version: number | null;
  durationMs: number;
  /** Why it was skipped. */
  reason?: string;
  error?: CredentialError;
}

export interface RotationOutcome {
  results: RotationResult[];
  counts: Record<RotationStatus, number>;
}

export interface RotateOptions {
  actor: string;
  /** Tenants rotated at once (default 4). */
  concurrency?: number;
  /** Told as each tenant finishes. */
  onTenant?: (result: RotationResult) => void;
  /** Told after each step of a tenant's rotation (awaited: progress output, and the kill tests stop here). */
  onStep?: (tenant: Tenant, step: RotationStep) => void | Promise<void>;
}

/** staged: the next password is recorded; altered: the role has it; promoted: it is the current one. */
export type RotationStep = 'staged' | 'altered' | 'promoted';

export const DEFAULT_CREDENTIAL_CONCURRENCY = 4;
const LOCK_PREFIX = 'metapus-tenant:credentials:';

/** Rotates the app-role password of the named tenants (id or slug), or of every tenant with one ('all'). */
export async function rotateTenantCredentials(
  deps: CredentialDeps,
  refs: readonly string[] | 'all',
  options: RotateOptions,
): Promise<RotationOutcome> {
  // A key problem stops everything before any tenant is touched.
  deps.secrets.keyring.current();
  const all = refs === 'all';
  const tenants = all ? await credentialTargets(deps.registry) : await resolveAll(deps.registry, refs);
  const results = new Map<string, RotationResult>();
  await runWorkQueue(
    tenants,
    {
      concurrency: options.concurrency ?? DEFAULT_CREDENTIAL_CONCURRENCY,
      perKey: options.concurrency ?? DEFAULT_CREDENTIAL_CONCURRENCY,
      keyOf: (t) => serverKey(t.dbHost, t.dbPort),
    },
    async (tenant) => {
      const result = await rotateOne(deps, tenant, options, all);
      results.set(tenant.id, result);
      try {
        options.onTenant?.(result);
      } catch {
        // A faulty listener must not stop the rotation.
      }
    },
  );
  const ordered = tenants.map((t) => results.get(t.id) as RotationResult);
  return { results: ordered, counts: countBy(ordered) };
}

/** Tenants `--all` looks at: every one that is not deleted or being created. */
export async function credentialTargets(registry: TenantRegistry): Promise<Tenant[]> {
  return registry.list({ status: [...CONVERTIBLE] });
}

/** Each ref resolved (throws TenantNotFoundError before anything is done), duplicates once. */
export async function resolveAll(registry: TenantRegistry, refs: readonly string[]): Promise<Tenant[]> {
  const seen = new Map<string, Tenant>();
  for (const ref of refs) {
    const tenant = await registry.resolve(ref);
    seen.set(tenant.id, tenant);
  }
  return [...seen.values()];
}

export function countBy<S extends string>(results: readonly { status: S }[]): Record<RotationStatus, number> {
  const counts: Record<RotationStatus, number> = { rotated: 0, failed: 0, skipped: 0 };
  for (const r of results) counts[r.status as RotationStatus] += 1;
  return counts;
}

export function errorOf(err: unknown): CredentialError {
  return fleetErrorOf(toToolkitError(err));
}

async function rotateOne(deps: CredentialDeps, tenant: Tenant, options: RotateOptions, all: boolean): Promise<RotationResult> {
  const started = performance.now();
  const base = { tenantId: tenant.id, slug: tenant.slug, role: tenant.appRole, resumed: false, version: null };
  const done = (rest: Partial<RotationResult> & { status: RotationStatus }): RotationResult => ({
    ...base,
    durationMs: performance.now() - started,
    ...rest,
  });
  if (tenant.appRole === null) {
    const refusal = sharedModeError(tenant);
    // Asked for by name, a refusal is a failure; in --all it is just not ours to rotate.
    return all ? done({ status: 'skipped', reason: refusal.message }) : done({ status: 'failed', error: errorOf(refusal) });
  }
  if (tenant.status === 'deleted' || tenant.status === 'provisioning') {
    return done({ status: 'skipped', reason: `tenant is ${tenant.status}` });
  }
  try {
    const { resumed, version } = await withCredentialLock(deps.connections.metaUrl, tenant, () =>
      rotate(deps, tenant, tenant.appRole as string, options),
    );
    return done({ status: 'rotated', resumed, version });
  } catch (err) {
    return done({ status: 'failed', error: errorOf(err) });
  }
}

/** The three steps (or the rest of them). */
async function rotate(
  deps: CredentialDeps,
  tenant: Tenant,
  role: string,
  options: RotateOptions,
): Promise<{ resumed: boolean; version: number | null }> {
  const { actor } = options;
  const step = async (name: RotationStep) => options.onStep?.(tenant, name);
  const secret = await deps.secrets.read(tenant.id);
  if (!secret || secret.role !== role) {
    // No usable password on record: save one first (it is never lost), then give it to the role.
    const password = randomPassword();
    await deps.secrets.save(tenant.id, role, password);
    await step('staged');
    await setRolePassword(adminAccess(deps.connections), tenant, role, password);
    await step('altered');
    await deps.registry.audit(tenant, 'credentials.rotated', actor, { reset: true });
    await notifyTenantChange(deps.metaPool, tenant, tenant.status);
    await step('promoted');
    return { resumed: false, version: (await deps.secrets.info(tenant.id))?.version ?? null };
  }
  const resumed = secret.next !== undefined;
  const next = secret.next ?? randomPassword();
  if (!resumed) await deps.secrets.stageNext(tenant.id, next);
  await step('staged');
  await setRolePassword(adminAccess(deps.connections), tenant, role, next);
  await step('altered');
  await deps.secrets.promoteNext(tenant, actor);
  await step('promoted');
  return { resumed, version: (await deps.secrets.info(tenant.id))?.version ?? null };
}

/** ALTER ROLE ... PASSWORD '<SCRAM verifier>': the server stores the verifier as given; the plaintext stays here. */
export async function setRolePassword(adminUrl: AdminAccess, tenant: Tenant, role: string, password: string): Promise<void> {
  const verifier = scramSha256Verifier(password);
  await withAdminConnection(adminUrl, { host: tenant.dbHost, port: tenant.dbPort }, async (admin) => {
    await admin.query(`ALTER ROLE ${roleIdent(role)} PASSWORD ${admin.escapeLiteral(verifier)}`);
  });
}

/**
 * Holds the tenant's credential lock (a session advisory lock on a meta
 * connection of its own) while fn runs; another holder is a conflict. A
 * process killed meanwhile loses its connection, and with it the lock.
 */
export async function withCredentialLock<T>(metaUrl: string, tenant: Tenant, fn: () => Promise<T>): Promise<T> {
  return withConnection({ connectionString: metaUrl, application_name: 'metapus-tenant:credentials' }, async (client) => {
    const held = await withTryLock(client, advisoryKey(`${LOCK_PREFIX}${tenant.id}`), fn);
    if (!held.locked) {
      throw new InvalidStateError(`the credentials of tenant "${tenant.slug}" are being changed by another command`, {
        hint: 'wait for it to finish, then run the command again',
      });
    }
    return held.value;
  });
}

function sharedModeError(tenant: Tenant): TenantToolkitError {
  return new InvalidStateError(`tenant "${tenant.slug}" has no login role of its own (shared mode): there is no password of its own to rotate`, {
    hint: `run \`tenant credentials isolate ${tenant.slug}\` to give it its own roles`,
  });
}
