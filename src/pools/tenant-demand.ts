/**
 * How often each tenant was asked for lately: a count per tenant, halved
 * every WINDOW requests so that old popularity fades (the aging of
 * TinyLFU). The server budget closes the idle connection of the tenant with
 * the least demand first: under a skewed load (a few tenants take most
 * requests) recency alone keeps whoever came last, frequency keeps whoever
 * comes back. A tenant not seen within a few windows is forgotten.
 */

/** Requests between two halvings: several times any budget, so one burst of rare tenants does not outweigh steady ones. */
const WINDOW = 10_000;

export class TenantDemand {
  private readonly counts = new Map<string, number>();
  private sinceHalving = 0;

  constructor(private readonly window = WINDOW) {}

  /** One request for the tenant. */
  hit(tenantId: string): void {
    this.counts.set(tenantId, (this.counts.get(tenantId) ?? 0) + 1);
    if (++this.sinceHalving >= this.window) this.halve();
  }

  /** Its recent request count (0 when unknown). */
  of(tenantId: string): number {
    return this.counts.get(tenantId) ?? 0;
  }

  get tracked(): number {
    return this.counts.size;
  }

  private halve(): void {
    this.sinceHalving = 0;
    for (const [id, n] of this.counts) {
      const half = n >> 1;
      if (half === 0) this.counts.delete(id);
      else this.counts.set(id, half);
    }
  }
}
