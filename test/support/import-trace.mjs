/**
 * `node --import ./test/support/import-trace.mjs bin/tenant ...`: records
 * every ES module import the process resolves, as "parent\tchild" lines
 * appended to the file named by IMPORT_TRACE_FILE. Used to check which
 * modules a command loads (test/e2e/cli-startup.test.ts).
 */
import { register } from 'node:module';

register('./import-trace-hooks.mjs', import.meta.url, { data: { file: process.env.IMPORT_TRACE_FILE } });
