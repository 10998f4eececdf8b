/**
 * What in a fleet's status needs attention, each with a stable code (for
 * `tenant status --json` consumers and alerting) and one line for people.
 * Any finding makes `tenant status --check` exit 1.
 */
import type { FindingCode, Finding, FleetStatus } from './fleet-status-model.js';

const SHOWN = 10;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function findingsOf(status: Omit<FleetStatus, 'findings'>): Finding[] {
  const findings: Finding[] = [];
  const add = (code: FindingCode, count: number, message: string, hint: string, subjects: string[]) => {
    if (count > 0) findings.push({ code, count, message, hint, subjects: subjects.slice(0, SHOWN) });
  };
  add(
    'MIGRATION_FAILED',
    status.failed.total,
    `${plural(status.failed.total, 'tenant')} in migration_failed`,
    'fix the cause (see the error), then `tenant migrate` retries them',
    status.failed.tenants.map((t) => t.slug),
  );
  const { versions } = status;
  add(
    'TENANTS_BEHIND',
    versions.behind,
    `${plural(versions.behind, 'tenant')} behind ${status.latestVersion ?? '(no migrations)'}, at`,
    'run `tenant migrate`',
    versions.byVersion.filter((v) => (v.behind ?? 0) > 0).map((v) => v.version ?? '(none)'),
  );
  add(
    'UNKNOWN_SCHEMA_VERSION',
    versions.unknown,
    `${plural(versions.unknown, 'tenant')} at a schema version this release does not have`,
    'a newer release migrated them, or a migration file was removed: deploy the release that has it',
    versions.byVersion.filter((v) => v.behind === null).map((v) => v.version ?? '(none)'),
  );
  add(
    'PROVISIONING_STALE',
    status.staleProvisioning.total,
    `${plural(status.staleProvisioning.total, 'create')} stuck in provisioning`,
    'run `tenant repair` to clean them up',
    status.staleProvisioning.tenants.map((t) => t.slug),
  );
  const abandoned = status.runs.filter((r) => r.status === 'abandoned');
  add(
    'RUN_ABANDONED',
    abandoned.length,
    `${plural(abandoned.length, 'migration run')} with no live runner`,
    'continue with `tenant migrate --join <run>` (or `--resume <run>`)',
    abandoned.map((r) => r.id),
  );
  const unreachable = status.servers.filter((s) => s.probe && !s.probe.reachable);
  add(
    'SERVER_UNREACHABLE',
    unreachable.length,
    `${plural(unreachable.length, 'server')} not reachable`,
    'check the server and its admin login (`tenant server list`)',
    unreachable.map((s) => s.name),
  );
  const orphans = status.servers.flatMap((s) => (s.orphans ? [...s.orphans.databases, ...s.orphans.roles] : []));
  add(
    'ORPHANS',
    orphans.length,
    `${plural(orphans.length, 'database or role', 'databases and roles')} with the tenant prefix ${orphans.length === 1 ? 'belongs' : 'belong'} to no tenant`,
    'look at them with `tenant repair`; `tenant repair --drop-orphans` drops them',
    orphans,
  );
  return findings;
}
