/** Option parsers and adders shared by several commands. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { TENANT_PLANS, TENANT_STATUSES, type TenantPlan, type TenantStatus } from '../core/tenant.js';

export function positiveInt(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return Number(value);
  };
}

export function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new InvalidArgumentError('port must be a number from 1 to 65535');
  }
  return Number(value);
}

/** A comma-separated (or repeated) option whose values must come from a fixed list. */
function oneOf<T extends string>(name: string, allowed: readonly T[]) {
  return (value: string, previous: T[] = []): T[] => {
    const out = [...previous];
    for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
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
  return command.addOption(new Option('--actor <name>', 'who is making the change (audit trail); default: the OS user'));
}
