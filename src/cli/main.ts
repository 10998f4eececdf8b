/** Entry point of the `tenant` binary: run the program, map errors to exit codes. */
import { reportError } from './error-report.js';
import { createProgram } from './program.js';
import type { CliState } from './session.js';
import { Terminal } from './terminal.js';

export async function runCli(argv: string[]): Promise<number> {
  const state: CliState = { exitCode: 0, term: new Terminal({ json: argv.includes('--json'), verbose: argv.includes('--verbose') || argv.includes('-v') }) };
  const program = createProgram(state);
  try {
    await program.parseAsync(argv);
    return state.exitCode;
  } catch (err) {
    return reportError(err, state.term);
  }
}

const code = await runCli(process.argv);
// Let stdout/stderr flush, then exit even if a library left a timer behind.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
