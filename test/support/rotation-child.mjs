/**
 * A rotation to be killed: runs rotateTenantCredentials (the built library)
 * for one tenant and, right after the named step, says so on stdout and
 * stops dead, holding everything it has open, until the test SIGKILLs it.
 *
 *   node rotation-child.mjs <tenant> <staged|altered>
 */
import { parseConfig } from '../../dist/config.js';
import { openRuntime } from '../../dist/runtime/runtime.js';
import { rotateTenantCredentials } from '../../dist/provision/credential-rotation.js';

const [ref, stopAfter] = process.argv.slice(2);
const rt = await openRuntime(parseConfig(process.env));
await rotateTenantCredentials(rt, [ref], {
  actor: 'kill-test',
  onStep: async (_tenant, step) => {
    if (step !== stopAfter) return;
    process.stdout.write(`reached ${step}\n`);
    setInterval(() => undefined, 60_000);
    await new Promise(() => undefined);
  },
});
process.stdout.write('finished without stopping\n');
await rt.close();
