/** Entry point of the `tenant` binary: run the program, map errors to exit codes. */
import { EXIT } from '../errors.js';
import { flushed, guardStream } from './closed-streams.js';
import { reportError } from './error-report.js';
import { createProgram } from './program.js';
import { signalExitCode, type CliState } from './session.js';
import { Terminal } from './terminal.js';

export async function runCli(argv: string[]): Promise<number> {
  const has = (...flags: string[]) => flags.some((flag) => argv.includes(flag));
  const state: CliState = {
    exitCode: 0,
    term: new Terminal({ json: has('--json'), verbose: has('--verbose', '-v'), quiet: has('--quiet', '-q'), color: !has('--no-color') }),
  };
  const program = createProgram(state);
  let code: number;
  try {
    await program.parseAsync(argv);
    code = state.exitCode;
  } catch (err) {
    code = reportError(err, state.term);
  }
  // Stopped by a signal: the shell convention, 128 + its number.
  return code === EXIT.interrupted && state.signal ? signalExitCode(state.signal) : code;
}

// A reader that goes away (`tenant show x | head -3`) must not crash the command.
guardStream(process.stdout);
guardStream(process.stderr);
const code = await runCli(process.argv);
// Let stdout/stderr flush, then exit even if a library left a timer behind.
await flushed(process.stdout);
await flushed(process.stderr);
process.exit(code);
