/**
 * A `tenant move` that kills itself (SIGKILL: no finally, no rollback) at a
 * given point, for the kill tests. Configuration comes from the environment
 * like the CLI's; MOVE_TENANT, MOVE_TO and KILL_AT say what to do. KILL_AT
 * is a step name (`copy`, `switched`, ...) or `table:<n>` (after the n-th
 * table's rows went out, inside the copy). CLONE_SLUG makes it a clone
 * (onto MOVE_TO) instead.
 */
import { parseConfig } from '../../src/config.js';
import { moveDepsFor } from '../../src/cli/commands/move.js';
import { cloneTenant } from '../../src/provision/tenant-clone.js';
import { moveTenant, type MoveEvent } from '../../src/provision/tenant-move.js';
import { openRuntime } from '../../src/runtime/runtime.js';

const killAt = process.env.KILL_AT ?? '';
const rt = await openRuntime(parseConfig(process.env));
let tables = 0;
const onEvent = (event: MoveEvent) => {
  if (event.type === 'step') {
    process.stdout.write(`step ${event.step}\n`);
    if (event.step === killAt) process.kill(process.pid, 'SIGKILL');
  }
  if (event.type === 'table-done') {
    tables += 1;
    if (killAt === `table:${tables}`) process.kill(process.pid, 'SIGKILL');
  }
};
const deps = await moveDepsFor(rt);
const ref = process.env.MOVE_TENANT ?? '';
const to = process.env.MOVE_TO ?? '';
const cloneSlug = process.env.CLONE_SLUG;
if (cloneSlug) await cloneTenant(deps, ref, { slug: cloneSlug, name: cloneSlug, server: to }, { actor: 'kill-test', onEvent });
else await moveTenant(deps, ref, to, { actor: 'kill-test', onEvent });
process.stdout.write('done\n');
await rt.close();
