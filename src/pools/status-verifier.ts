/**
 * A status NOTIFY is a hint, never a fact: anyone who can connect to the
 * meta database can send one. For each hinted tenant we re-read its row and
 * act on what the row says. Hints are coalesced per tenant: while a re-read
 * is in flight, any number of further hints for that tenant cost exactly one
 * more re-read (the row may have changed after the first read started), so a
 * flood of messages costs a bounded number of lookups and no pool churn.
 */
import type { Tenant } from '../tenants/tenant.js';

export interface StatusVerifierOptions {
  /** Reads the tenant's row now (bypassing any fresh cache entry); undefined when it does not exist. */
  reread(tenantId: string): Promise<Tenant | undefined>;
  /** Called with what the row says, after each re-read that succeeded. */
  apply(tenantId: string, tenant: Tenant | undefined): void;
  /** A re-read that failed (e.g. the meta database is down); the hint is dropped. */
  onError?(tenantId: string, err: unknown): void;
}

export class StatusVerifier {
  /** Tenants with a re-read in flight -> whether another hint arrived meanwhile. */
  private readonly inflight = new Map<string, boolean>();
  private closed = false;

  constructor(private readonly options: StatusVerifierOptions) {}

  /** Re-reads in flight right now (for tests and stats). */
  get pending(): number {
    return this.inflight.size;
  }

  hint(tenantId: string): void {
    if (this.closed) return;
    const key = tenantId.toLowerCase();
    if (this.inflight.has(key)) {
      this.inflight.set(key, true);
      return;
    }
    this.inflight.set(key, false);
    void this.run(key);
  }

  close(): void {
    this.closed = true;
  }

  private async run(key: string): Promise<void> {
    for (;;) {
      try {
        const tenant = await this.options.reread(key);
        if (!this.closed) this.options.apply(key, tenant);
      } catch (err) {
        this.options.onError?.(key, err);
      }
      if (!this.inflight.get(key) || this.closed) break;
      this.inflight.set(key, false);
    }
    this.inflight.delete(key);
  }
}
