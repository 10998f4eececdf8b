/**
 * Status changes a DBA or support engineer makes: suspend and activate.
 * Both are compare-and-set, idempotent, audited and NOTIFYed (registry).
 */
import { InvalidStateError } from '../errors.js';
import type { StatusChangeResult, TenantRegistry } from './tenant-registry.js';

export interface SuspendOptions {
  actor: string;
  reason?: string;
}

export async function suspendTenant(registry: TenantRegistry, ref: string, options: SuspendOptions): Promise<StatusChangeResult> {
  const tenant = await registry.resolve(ref);
  return registry.changeStatus(tenant.id, {
    from: ['active', 'migration_failed'],
    to: 'suspended',
    actor: options.actor,
    action: 'suspend',
    details: options.reason ? { reason: options.reason } : {},
  });
}

export interface ActivateOptions {
  actor: string;
  /** The latest tenant schema version; a tenant behind it is not activated. */
  latestVersion: string | null;
  /** Where latestVersion comes from (the migrations folder), named when the tenant is ahead of it. */
  migrationsDir?: string;
  reason?: string;
}

export async function activateTenant(registry: TenantRegistry, ref: string, options: ActivateOptions): Promise<StatusChangeResult> {
  const tenant = await registry.resolve(ref);
  if (tenant.status === 'active') return { tenant, changed: false, previousStatus: 'active' };
  if ((tenant.status === 'suspended' || tenant.status === 'migration_failed') && tenant.schemaVersion !== options.latestVersion) {
    if (isAhead(tenant.schemaVersion, options.latestVersion)) {
      // Migrating cannot help here: the migrations this tenant has are not in this folder.
      const folder = options.migrationsDir ? ` (${options.migrationsDir})` : '';
      throw new InvalidStateError(
        `tenant "${tenant.slug}" is at schema ${tenant.schemaVersion}, newer than the latest migration in this migrations folder${folder}: ${options.latestVersion ?? 'none'}`,
        {
          hint: 'this is likely an older checkout of the migrations, or TENANT_MIGRATIONS_DIR points at the wrong folder; run from the checkout that migrated the tenant',
          details: { slug: tenant.slug, schemaVersion: tenant.schemaVersion, latestVersion: options.latestVersion },
        },
      );
    }
    throw new InvalidStateError(
      `tenant "${tenant.slug}" is at schema ${tenant.schemaVersion ?? 'none'}, not the latest (${options.latestVersion ?? 'none'}); it cannot be activated yet`,
      { hint: `run \`tenant migrate --slug ${tenant.slug} --include-suspended\` first` },
    );
  }
  return registry.changeStatus(tenant.id, {
    from: ['suspended', 'migration_failed'],
    to: 'active',
    actor: options.actor,
    action: 'activate',
    details: options.reason ? { reason: options.reason } : {},
  });
}

export interface DeleteOptions {
  actor: string;
  reason?: string;
}

/** Marks a tenant deleted (servers refuse it at once); the database is kept unless the caller drops it. */
export async function markTenantDeleted(registry: TenantRegistry, ref: string, options: DeleteOptions): Promise<StatusChangeResult> {
  const tenant = await registry.resolve(ref);
  return registry.changeStatus(tenant.id, {
    from: ['active', 'suspended', 'migration_failed'],
    to: 'deleted',
    actor: options.actor,
    action: 'delete',
    details: options.reason ? { reason: options.reason } : {},
  });
}

/** Migration names sort in order (numbered prefixes), so a recorded version past the newest file is ahead. */
function isAhead(version: string | null, latest: string | null): boolean {
  if (version === null) return false;
  return latest === null || version > latest;
}
