/**
 * Requests waiting for a slot in a full pool table, first come first served.
 * All waiters for one tenant share one request (single flight): the pool is
 * created once and each of them gets a lease on it. A waiter that aborts
 * leaves alone; a request whose last waiter left is withdrawn. A request not
 * granted within the acquire timeout fails all of its waiters.
 */
import type { Tenant } from '../tenants/tenant.js';
import type { TenantLease } from './tenant-lease.js';
import { cancelledError } from './tenant-lease.js';

export interface SlotWaiter {
  /** The tenant as this waiter looked it up (its lease carries it). */
  tenant: Tenant;
  resolve(lease: TenantLease): void;
  reject(err: Error): void;
  detach(): void;
}

export class SlotRequest {
  readonly waiters = new Set<SlotWaiter>();
  readonly startedAt = Date.now();
  timer: NodeJS.Timeout | undefined;
  /** Retired while waiting (e.g. the tenant was suspended): its pool drains right after serving these waiters. */
  retired = false;
  constructor(readonly tenant: Tenant) {}
}

export class SlotQueue {
  private readonly byTenant = new Map<string, SlotRequest>();
  private readonly order: SlotRequest[] = [];

  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: (request: SlotRequest) => Error,
  ) {}

  get length(): number {
    return this.order.length;
  }

  /** Waiters across all requests. */
  get waiters(): number {
    let n = 0;
    for (const request of this.order) n += request.waiters.size;
    return n;
  }

  head(): SlotRequest | undefined {
    return this.order[0];
  }

  /** Joins the tenant's request, starting one if needed; `started` tells the caller to try granting. */
  join(tenant: Tenant, signal: AbortSignal | undefined): { lease: Promise<TenantLease>; started: boolean } {
    let request = this.byTenant.get(tenant.id);
    const started = request === undefined;
    if (!request) {
      const created = new SlotRequest(tenant);
      created.timer = setTimeout(() => this.expire(created), this.timeoutMs).unref();
      this.byTenant.set(tenant.id, created);
      this.order.push(created);
      request = created;
    }
    const owner = request;
    const lease = new Promise<TenantLease>((resolve, reject) => {
      const waiter: SlotWaiter = { tenant, resolve, reject, detach: () => undefined };
      if (signal) {
        const onAbort = () => {
          owner.waiters.delete(waiter);
          reject(cancelledError(signal));
          if (owner.waiters.size === 0) this.remove(owner);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener('abort', onAbort);
      }
      owner.waiters.add(waiter);
    });
    return { lease, started };
  }

  /** Takes the request out of the queue (granted or withdrawn). */
  remove(request: SlotRequest): void {
    clearTimeout(request.timer);
    if (this.byTenant.get(request.tenant.id) === request) this.byTenant.delete(request.tenant.id);
    const index = this.order.indexOf(request);
    if (index >= 0) this.order.splice(index, 1);
  }

  markRetired(tenantId: string): void {
    const request = this.byTenant.get(tenantId);
    if (request) request.retired = true;
  }

  /** Fails every waiter of every request (shutdown). */
  rejectAll(error: Error): void {
    for (const request of this.order.splice(0)) {
      clearTimeout(request.timer);
      this.byTenant.delete(request.tenant.id);
      settle(request, error);
    }
  }

  private expire(request: SlotRequest): void {
    this.remove(request);
    settle(request, this.onTimeout(request));
  }
}

function settle(request: SlotRequest, error: Error): void {
  for (const waiter of request.waiters) {
    waiter.detach();
    waiter.reject(error);
  }
}
