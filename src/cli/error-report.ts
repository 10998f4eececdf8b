/** Turns any error into one clear line (plus a hint) and an exit code. */
import { CommanderError } from 'commander';
import { escapeControlCharacters } from '../control-characters.js';
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
  const hint = known.hint ?? networkHint(err);
  if (term.json) {
    term.printJson({ error: { code: known.code, message: redact(known.message), ...(hint ? { hint } : {}) } });
  }
  // Every bad configuration value gets a line of its own.
  const lines = known instanceof ConfigError ? known.problems : [known.message];
  for (const line of lines) term.note(`${term.ec.red('error:')} ${oneLine(line)}`);
  if (hint) term.note(term.ec.dim(`hint: ${oneLine(hint)}`));
  if (term.verbose) {
    let cause: unknown = known;
    while (cause) {
      if (cause instanceof Error && cause.stack) term.note(term.ec.dim(escapeControlCharacters(cause.stack, { keepNewlines: true })));
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return known instanceof TenantToolkitError ? known.exitCode : EXIT.failed;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL']);

/** A hint for network failures that carry none: what to check, and where it is set. */
function networkHint(err: unknown): string | undefined {
  const dns = causeOf(err, DNS_CODES);
  if (dns) {
    const host = typeof dns.hostname === 'string' ? `"${dns.hostname}" ` : '';
    return `the host name ${host}does not resolve: check the host in META_DATABASE_URL, POSTGRES_ADMIN_URL or TENANT_DB_HOST (or the tenant's --host)`;
  }
  const refused = causeOf(err, new Set(['ECONNREFUSED']));
  if (refused) {
    const where =
      typeof refused.address === 'string' ? ` at ${refused.address}${typeof refused.port === 'number' ? `:${refused.port}` : ''}` : '';
    return `nothing is listening${where}: is PostgreSQL running there? Check the host and port in META_DATABASE_URL / TENANT_DB_HOST`;
  }
  return undefined;
}

interface NetworkError {
  code?: unknown;
  hostname?: unknown;
  address?: unknown;
  port?: unknown;
}

function causeOf(err: unknown, codes: Set<string>): NetworkError | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const current = queue.shift();
    if (!current || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const e = current as NetworkError & { cause?: unknown; errors?: unknown };
    if (typeof e.code === 'string' && codes.has(e.code)) return e;
    queue.push(e.cause);
    if (Array.isArray(e.errors)) queue.push(...(e.errors as unknown[]));
  }
  return undefined;
}

function isPromptAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'ExitPromptError' || err.name === 'AbortPromptError');
}

/** One line, and nothing in it that a terminal would act on (messages quote what people typed). */
function oneLine(text: string): string {
  return escapeControlCharacters(
    messageOf(text)
      .replace(/\s*\n\s*/g, ' ')
      .trim(),
  );
}
