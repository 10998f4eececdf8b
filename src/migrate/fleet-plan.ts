/**
 * Planning a fleet run, before anything is written: validation, target
 * selection, and the cheap pre-check that reports tenants current per the
 * meta database without connecting to them.
 */
import type { Tenant } from '../tenants/tenant.js';
import { UsageError } from '../errors.js';
import { unknownMigration } from '../schema/migration-plan.js';
import type { MigrationDirection } from '../schema/migration-types.js';
import { skippedResult, upToDateResult, type FleetTenantResult } from './fleet-result.js';
import { downNeedsTo, resolveFleetOptions, type FleetSettings } from './fleet-settings.js';
import { selectTargets, type TargetSelection } from './fleet-targets.js';
import { inShard } from './fleet-shard.js';
import type { FleetMigrateDeps, FleetMigrateOptions, FleetShard } from './fleet-types.js';
import { latestVersion, migrationIndex, type MigrationFile } from '../schema/migration-files.js';
import type { MigrationRuns } from './migration-runs.js';
import { currentInMeta } from './pending-migrations.js';

export interface RunPlan {
  /** The options resolved, with a resumed run's `to`. */
  settings: FleetSettings;
  targetVersion: string | null;
  latest: string | null;
  selection: TargetSelection;
  /** Every targeted tenant, in registry order. */
  order: Tenant[];
  /** Tenants to connect to. */
  queue: Tenant[];
  /** Results known before running (up to date per the meta database, ineligible), then all. */
  results: Map<string, FleetTenantResult>;
  /** The wave of each queued tenant: 0 canary, then 1, 2, ... (all 1 without --wave). */
  waves: Map<string, number>;
}

/** Validates, selects the targets and decides what needs no connection. Nothing is written. */
export async function planRun(
  files: readonly MigrationFile[],
  deps: FleetMigrateDeps,
  runs: MigrationRuns,
  options: FleetMigrateOptions,
): Promise<RunPlan> {
  const given = resolveFleetOptions(options);
  const { direction } = given;
  const selection = shardOf(await selectTargets(deps.registry, runs, given.target, direction), given.shard);
  const resumedTo = selection.resumed?.options.to;
  if (selection.resumed && given.to !== undefined && given.to !== resumedTo) {
    throw new UsageError(`run ${selection.resumed.id} did not migrate to ${given.to}; resume it without --to`);
  }
  const settings = { ...given, to: given.to ?? (typeof resumedTo === 'string' ? resumedTo : undefined) };
  const targetVersion = checkTo(files, direction, settings.to);

  // The cheap pre-check, without connecting: the meta database records the
  // target version, and its mirror of the tenant's bookkeeping matches the files.
  const targetIndex = migrationIndex(files, targetVersion);
  const candidates = selection.tenants.filter((tenant) => {
    const known = migrationIndex(files, tenant.schemaVersion);
    return direction === 'up' && !settings.verify && tenant.status !== 'migration_failed' && known >= 0 && known >= targetIndex;
  });
  const current = await currentInMeta(
    deps.metaPool,
    files,
    candidates.map((t) => t.id),
    targetIndex,
  );
  const results = new Map<string, FleetTenantResult>();
  const queue: Tenant[] = [];
  for (const tenant of selection.tenants) {
    if (current.has(tenant.id)) results.set(tenant.id, upToDateResult(tenant));
    else queue.push(tenant);
  }
  for (const { tenant, reason } of selection.ineligible) results.set(tenant.id, skippedResult(tenant, reason));
  const waves = assignWaves(queue, selection.tenants, settings.canary, settings.waveSize);
  return {
    waves,
    settings,
    targetVersion,
    latest: latestVersion(files),
    selection,
    order: [...selection.tenants, ...selection.ineligible.map((i) => i.tenant)],
    queue,
    results,
  };
}

/** Only the shard's tenants (named ones too); the recorded target says which shard. */
function shardOf(selection: TargetSelection, shard: FleetShard | undefined): TargetSelection {
  if (!shard) return selection;
  return {
    ...selection,
    tenants: selection.tenants.filter((t) => inShard(t.id, shard)),
    ineligible: selection.ineligible.filter((i) => inShard(i.tenant.id, shard)),
    recorded: { ...selection.recorded, shard: `${shard.index}/${shard.count}` },
  };
}

/**
 * Canaries (wave 0): the first n queued tenants, or the named ones (which
 * must be among the run's targets). The rest in waves of waveSize, in order.
 */
function assignWaves(
  queue: readonly Tenant[],
  targets: readonly Tenant[],
  canary: number | readonly string[] | undefined,
  waveSize: number | null,
): Map<string, number> {
  const canaries = new Set<string>();
  if (typeof canary === 'number') {
    for (const tenant of queue.slice(0, canary)) canaries.add(tenant.id);
  } else if (canary !== undefined) {
    const bySlug = new Map(targets.map((t) => [t.slug.toLowerCase(), t]));
    const missing = canary.filter((slug) => !bySlug.has(slug.toLowerCase()));
    if (missing.length > 0) {
      throw new UsageError(`--canary names tenants this run does not target: ${missing.join(', ')}`, {
        hint: 'a canary must be one of the tenants the run migrates (see `tenant list`)',
      });
    }
    for (const slug of canary) canaries.add((bySlug.get(slug.toLowerCase()) as Tenant).id);
  }
  const waves = new Map<string, number>();
  let index = 0;
  for (const tenant of queue) {
    if (canaries.has(tenant.id)) waves.set(tenant.id, 0);
    else waves.set(tenant.id, 1 + (waveSize === null ? 0 : Math.floor(index++ / waveSize)));
  }
  return waves;
}

/** The version the run goes to; validates `to` against the files. */
function checkTo(files: readonly MigrationFile[], direction: MigrationDirection, to: string | undefined): string | null {
  if (direction === 'down') {
    if (to === undefined) throw downNeedsTo();
    if (to === '0') return null;
  }
  if (to === undefined) return latestVersion(files);
  if (!files.some((f) => f.name === to)) throw unknownMigration(to, files.at(-1)?.name ?? '00001_initial');
  return to;
}
