/**
 * One ServerBudget per server this pool manager has tenant pools on, keyed
 * by address (pg/server-key.ts), so two spellings of one server share a
 * budget and a tenant moved to another server counts against that one. The
 * limit is the registry's `connections` for the tenant's server when the
 * manager was given a registry and the row sets one; otherwise the server is
 * measured (server-budget.ts).
 */
import { serverKey } from '../pg/server-key.js';
import type { Tenant } from '../tenants/tenant.js';
import { ServerBudget, type ServerBudgetOptions, type ServerBudgetStats } from './server-budget.js';

/** What the budgets need of the server registry (the runtime's ServerDirectory fits). */
export interface ServerConnectionLimits {
  find(name: string): { connections: number | null } | undefined;
}

export class ServerBudgets {
  private readonly byServer = new Map<string, ServerBudget>();

  constructor(
    private readonly servers: ServerConnectionLimits | undefined,
    private readonly options: ServerBudgetOptions,
  ) {}

  /** The budget of the server the tenant's database lives on. */
  for(tenant: Pick<Tenant, 'dbHost' | 'dbPort' | 'serverName'>): ServerBudget {
    const key = serverKey(tenant.dbHost, tenant.dbPort);
    let budget = this.byServer.get(key);
    if (!budget) {
      const registered = tenant.serverName ? this.servers?.find(tenant.serverName)?.connections : undefined;
      budget = new ServerBudget(key, registered ?? undefined, this.options);
      this.byServer.set(key, budget);
    }
    return budget;
  }

  stats(): ServerBudgetStats[] {
    return [...this.byServer.values()].map((budget) => budget.stats());
  }
}
