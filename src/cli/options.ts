/** Option parsers and adders shared by several commands. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { TENANT_PLANS, TENANT_STATUSES, isTenantPlan, isTenantStatus, type TenantPlan, type TenantStatus } from '../core/tenant.js';

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

export function statusList(value: string, previous: TenantStatus[] = []): TenantStatus[] {
  const out = [...previous];
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!isTenantStatus(part)) throw new InvalidArgumentError(`status must be one of ${TENANT_STATUSES.join(', ')}`);
    out.push(part);
  }
  return out;
}

export function planList(value: string, previous: TenantPlan[] = []): TenantPlan[] {
  const out = [...previous];
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!isTenantPlan(part)) throw new InvalidArgumentError(`plan must be one of ${TENANT_PLANS.join(', ')}`);
    out.push(part);
  }
  return out;
}

export function repeatable(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function addJson(command: Command): Command {
  return command.option('--json', 'print machine-readable JSON on stdout, nothing else');
}

export function addActor(command: Command): Command {
  return command.addOption(new Option('--actor <name>', 'who is making the change (audit trail); default: the OS user'));
}
