/** Turns any error into one clear line (plus a hint) and an exit code. */
import { CommanderError } from 'commander';
import { ConfigError, EXIT, TenantToolkitError, messageOf, toToolkitError } from '../errors.js';
import { redact } from '../redact.js';
import type { Terminal } from './terminal.js';

export function reportError(err: unknown, term: Terminal): number {
  term.fail();
  if (err instanceof CommanderError) {
    // commander already printed its message; help and version are not errors.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
      return EXIT.ok;
    }
    return EXIT.usage;
  }
  if (isPromptAbort(err)) {
    term.note('cancelled');
    return EXIT.interrupted;
  }
  const known = toToolkitError(err);
  if (term.json) {
    term.printJson({ error: { code: known.code, message: redact(known.message), ...(known.hint ? { hint: known.hint } : {}) } });
  }
  // Every bad configuration value gets a line of its own.
  const lines = known instanceof ConfigError ? known.problems : [known.message];
  for (const line of lines) term.note(`${term.c.red('error:')} ${oneLine(line)}`);
  if (known.hint) term.note(term.c.dim(`hint: ${known.hint}`));
  if (term.verbose) {
    let cause: unknown = known;
    while (cause) {
      if (cause instanceof Error && cause.stack) term.note(term.c.dim(cause.stack));
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return known instanceof TenantToolkitError ? known.exitCode : EXIT.failed;
}

function isPromptAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'ExitPromptError' || err.name === 'AbortPromptError');
}

function oneLine(text: string): string {
  return messageOf(text).replace(/\s*\n\s*/g, ' ').trim();
}
