/** Option parsers and adders shared by several commands. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { hasControlCharacters } from '../control-characters.js';
import { parseIntegerInRange } from '../integer-range.js';
import { PORT_RANGE } from '../validators.js';
import { TENANT_PLANS, TENANT_STATUSES, type TenantPlan, type TenantStatus } from '../tenants/tenant.js';

/** A commander parser for a whole-number option in [min, max]. */
export function integerOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const parsed = parseIntegerInRange(name, value, { min, max });
    if (!parsed.ok) throw new InvalidArgumentError(parsed.message);
    return parsed.value;
  };
}

export const port: (value: string) => number = integerOption('--port', PORT_RANGE.min, PORT_RANGE.max);

/**
 * Free text that is stored and shown again (an actor, a reason): one line,
 * no control characters, not blank, at most `max` characters.
 */
export function freeText(flag: string, max: number) {
  return (value: string): string => {
    const text = value.trim();
    if (!text) throw new InvalidArgumentError(`${flag} must not be empty`);
    if (hasControlCharacters(text))
      throw new InvalidArgumentError(`${flag} must not contain control characters (escape sequences, newlines, tabs)`);
    if ([...text].length > max) throw new InvalidArgumentError(`${flag} must be at most ${max} characters`);
    return text;
  };
}

/** A comma-separated (or repeated) option whose values must come from a fixed list. */
function oneOf<T extends string>(name: string, allowed: readonly T[]) {
  return (value: string, previous: T[] = []): T[] => {
    const out = [...previous];
    for (const part of value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      if (!(allowed as readonly string[]).includes(part)) throw new InvalidArgumentError(`${name} must be one of ${allowed.join(', ')}`);
      out.push(part as T);
    }
    return out;
  };
}

export const statusList: (value: string, previous?: TenantStatus[]) => TenantStatus[] = oneOf('status', TENANT_STATUSES);
export const planList: (value: string, previous?: TenantPlan[]) => TenantPlan[] = oneOf('plan', TENANT_PLANS);

export function repeatable(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function addJson(command: Command): Command {
  return command.option('--json', 'print machine-readable JSON on stdout, nothing else');
}

export function addActor(command: Command): Command {
  return command.addOption(
    new Option('--actor <name>', 'who is making the change (audit trail); default: the OS user').argParser(freeText('--actor', 200)),
  );
}

export function addReason(command: Command): Command {
  return command.addOption(new Option('--reason <text>', 'why (kept in the audit trail)').argParser(freeText('--reason', 1000)));
}
