/**
 * Which tenants a fleet run targets, in one meta-database query.
 *
 *  - Nothing named: every tenant in the targeted statuses. Default statuses
 *    are `active` and `migration_failed` (a failed tenant is retried by the
 *    next run: that is how a rerun picks up where it stopped);
 *    `includeSuspended` adds `suspended`; `statuses` replaces the default.
 *  - Named (`ids` / `slugs`): exactly those tenants; an unknown name is an
 *    error before anything runs; a named tenant outside the targeted statuses
 *    is reported `skipped` with the reason.
 *  - `resume`: the tenants of an earlier run that did not end migrated or up
 *    to date, with that run's direction, `to` and statuses.
 * `provisioning` and `deleted` tenants are never migrated.
 */
import { TenantNotFoundError, TenantToolkitError, UsageError } from '../errors.js';
import { isTenantStatus, isUuid, type Tenant, type TenantStatus } from '../tenants/tenant.js';
import type { TenantRegistry } from '../tenants/tenant-registry.js';
import type { MigrationDirection } from '../schema/migration-types.js';
import type { MigrationRunDetail, MigrationRuns } from './migration-runs.js';

export const MIGRATABLE_STATUSES: readonly TenantStatus[] = ['active', 'migration_failed', 'suspended'];
export const DEFAULT_TARGET_STATUSES: readonly TenantStatus[] = ['active', 'migration_failed'];
/** Tenant outcomes a resumed run leaves alone. */
const FINISHED = new Set<string>(['migrated', 'reverted', 'up-to-date']);

export interface FleetTarget {
  ids?: readonly string[];
  slugs?: readonly string[];
  statuses?: readonly TenantStatus[];
  includeSuspended?: boolean;
  /** Run id (or unique prefix, or `last`) to resume. */
  resume?: string;
}

export interface TargetSelection {
  /** Tenants to migrate, in registry order. */
  tenants: Tenant[];
  /** Named tenants that are not migrated, with the reason. */
  ineligible: { tenant: Tenant; reason: string }[];
  statuses: TenantStatus[];
  /** The run being resumed. */
  resumed?: MigrationRunDetail;
  /** What the run record stores as its target. */
  recorded: Record<string, unknown>;
}

export async function selectTargets(
  registry: TenantRegistry,
  runs: MigrationRuns,
  target: FleetTarget,
  direction: MigrationDirection,
): Promise<TargetSelection> {
  const named = (target.ids?.length ?? 0) + (target.slugs?.length ?? 0) > 0;
  for (const status of target.statuses ?? []) {
    if (!MIGRATABLE_STATUSES.includes(status)) {
      throw new UsageError(`tenants in status ${status} cannot be migrated; choose from ${MIGRATABLE_STATUSES.join(', ')}`);
    }
  }
  const extra: TenantStatus[] = target.includeSuspended ? ['suspended'] : [];

  // resolveFleetOptions has refused --resume with names or statuses, and `down` without names.
  if (target.resume !== undefined) {
    const run = await runs.getResumable(target.resume);
    if (run.direction !== direction) {
      throw new UsageError(`run ${run.id} migrated ${run.direction}; it cannot be resumed ${direction}`, {
        hint: run.direction === 'down' ? `use \`tenant migrate down --resume ${run.id}\`` : `use \`tenant migrate --resume ${run.id}\``,
      });
    }
    const recordedStatuses = Array.isArray(run.target.statuses) ? run.target.statuses.filter(isStatusString) : [];
    const statuses = unique([...(recordedStatuses.length ? recordedStatuses : DEFAULT_TARGET_STATUSES), ...extra]);
    const ids = run.tenants.filter((t) => !FINISHED.has(t.status)).map((t) => t.tenantId);
    const tenants = ids.length > 0 ? await registry.list({ ids }) : [];
    return { ...split(tenants, statuses), statuses, resumed: run, recorded: { resumeOf: run.id, ids, statuses } };
  }

  const statuses = unique([...(target.statuses?.length ? target.statuses : DEFAULT_TARGET_STATUSES), ...extra]);
  const recorded = {
    ...(target.ids?.length ? { ids: target.ids } : {}),
    ...(target.slugs?.length ? { slugs: target.slugs } : {}),
    statuses,
  };
  if (!named) return { tenants: await registry.list({ status: statuses }), ineligible: [], statuses, recorded };

  const ids = [...(target.ids ?? [])];
  const badId = ids.find((id) => !isUuid(id));
  if (badId !== undefined) {
    throw new TenantToolkitError('INVALID_TENANT_ID', `"${badId}" is not a tenant id (UUID)`, { hint: 'use --slug for slugs' });
  }
  const slugs = [...(target.slugs ?? [])];
  const found = await registry.list({ ids, slugs });
  const missing = [
    ...ids.filter((id) => !found.some((t) => t.id === id.toLowerCase())),
    ...slugs.filter((slug) => !found.some((t) => t.slug.toLowerCase() === slug.toLowerCase())),
  ];
  if (missing.length === 1) throw new TenantNotFoundError(missing[0] as string);
  if (missing.length > 1) {
    throw new TenantToolkitError('TENANT_NOT_FOUND', `tenants not found: ${missing.join(', ')}`, {
      hint: 'run `tenant list` to see the tenants',
      details: { tenants: missing },
    });
  }
  return { ...split(found, statuses), statuses, recorded };
}

function split(tenants: Tenant[], statuses: readonly TenantStatus[]): Pick<TargetSelection, 'tenants' | 'ineligible'> {
  const selection: Pick<TargetSelection, 'tenants' | 'ineligible'> = { tenants: [], ineligible: [] };
  for (const tenant of tenants) {
    if (statuses.includes(tenant.status)) selection.tenants.push(tenant);
    else selection.ineligible.push({ tenant, reason: ineligibleReason(tenant.status) });
  }
  return selection;
}

/** The statuses a recorded run targets (as `target.statuses` stores them), or the defaults. */
export function recordedStatuses(target: Record<string, unknown>): TenantStatus[] {
  const recorded = Array.isArray(target.statuses) ? target.statuses.filter(isStatusString) : [];
  return recorded.length > 0 ? recorded : [...DEFAULT_TARGET_STATUSES];
}

/** Why a tenant is not migrated by a run targeting these statuses, or null when it is. */
export function ineligibility(tenant: Tenant, statuses: readonly TenantStatus[]): string | null {
  return statuses.includes(tenant.status) ? null : ineligibleReason(tenant.status);
}

function ineligibleReason(status: TenantStatus): string {
  switch (status) {
    case 'suspended':
      return 'tenant is suspended (add --include-suspended to migrate it)';
    case 'provisioning':
      return 'tenant is being created (provisioning)';
    case 'deleted':
      return 'tenant is deleted';
    case 'moving':
      return 'tenant is being moved to another server (`tenant move`); migrate it once the move is done';
    default:
      return `tenant is ${status}, which this run does not target`;
  }
}

function isStatusString(value: unknown): value is TenantStatus {
  return typeof value === 'string' && isTenantStatus(value) && MIGRATABLE_STATUSES.includes(value);
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
