/**
 * A `tenant create` that kills itself (SIGKILL: no finally, no rollback) the
 * moment the create state machine reaches a given step, for the kill tests.
 * Run with `node --import tsx`; configuration comes from the environment
 * like the CLI's; CREATE_SLUG and KILL_AT_STEP say what to do.
 */
import { parseConfig } from '../../src/config.js';
import { openRuntime } from '../../src/runtime/runtime.js';
import { provisionerFor } from './tenant-fixtures.js';

const slug = process.env.CREATE_SLUG ?? 'killed';
const killAt = process.env.KILL_AT_STEP;
const rt = await openRuntime(parseConfig(process.env));
const provisioner = provisionerFor(rt);
await provisioner.create(
  { slug, name: slug },
  {
    actor: 'kill-test',
    useTemplate: process.env.USE_TEMPLATE !== 'false',
    onStep: (step) => {
      process.stdout.write(`step ${step}\n`);
      if (step === killAt) process.kill(process.pid, 'SIGKILL');
    },
  },
);
process.stdout.write('created\n');
await rt.close();
