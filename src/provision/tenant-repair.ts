/**
 * `tenant repair`, the whole of it, in the order that keeps each part right:
 * moves and clones that were killed are finished or rolled back first (a
 * rolled-back clone then leaves no `provisioning` row for the create repair
 * to misread), then abandoned creates and orphans on every registered server,
 * then, when asked, the source databases earlier moves kept.
 */
import type { RepairResult, Provisioner } from './provisioner.js';
import type { MoveDeps } from './move-context.js';
import { repairMoves, type MoveRepairResult } from './move-recovery.js';
import { dropMovedDatabases, type MovedDatabase } from './moved-databases.js';

export interface TenantRepairOptions {
  actor: string;
  /** Drop tenant-prefixed databases and roles that belong to no tenant. */
  dropOrphans?: boolean;
  /** Drop the source databases kept by earlier moves (`<db>_moved_<timestamp>`). */
  dropMoved?: boolean;
}

export interface TenantRepairResult extends RepairResult {
  moves: MoveRepairResult;
  droppedMoved: MovedDatabase[];
}

export async function repairTenants(deps: MoveDeps, provisioner: Provisioner, options: TenantRepairOptions): Promise<TenantRepairResult> {
  const moves = await repairMoves(deps, options.actor);
  const result = await provisioner.repair({ actor: options.actor, dropOrphans: options.dropOrphans === true });
  const droppedMoved = options.dropMoved ? await dropMovedDatabases(deps, options.actor) : [];
  return { ...result, moves, droppedMoved };
}
