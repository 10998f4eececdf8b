/**
 * Tenant app-role passwords in the meta database, sealed (secret-box.ts):
 * a dump of the meta database holds no usable password. The store hands out
 * plaintext only to the process that asks (pools, rotation, `--reveal`) and
 * never logs it. Rotation keeps the next password beside the current one
 * until the role has it, so a rotation killed at any point leaves a password
 * that works on record.
 */
import type pg from 'pg';
import { withClient, withTransaction } from '../pg/with-helpers.js';
import { SecretKeyError, TenantNotFoundError, messageOf } from '../errors.js';
import { insertAudit, notifyTenantChange, type Queryable } from '../tenants/tenant-registry.js';
import { tenantFromRow, type Tenant, type TenantRow } from '../tenants/tenant.js';
import { openSecret, sealWith, sealSecret, sealedKeyId } from './secret-box.js';
import type { SecretKeyring } from './secret-keyring.js';

export interface TenantSecret {
  role: string;
  current: string;
  /** Set while a rotation is under way: the role may already have this password. */
  next: string | undefined;
  version: number;
}

/** What `tenant credentials show` tells about a secret without opening it. */
export interface SecretInfo {
  role: string;
  keyId: string;
  version: number;
  rotating: boolean;
  createdAt: Date;
  rotatedAt: Date | null;
}

export interface KeyUsage {
  keyId: string;
  secrets: number;
  /** current: seals new secrets; previous: held, can open; missing: not held, its secrets cannot be opened. */
  held: 'current' | 'previous' | 'missing';
}

export interface RekeyResult {
  rekeyed: { tenantId: string; slug: string; from: string }[];
  alreadyCurrent: number;
  failed: { tenantId: string; slug: string; error: string }[];
}

interface SecretRow {
  role: string;
  secret: string;
  next_secret: string | null;
  version: number;
}

/** The authenticated context of a tenant's sealed password: it opens only on that tenant's row, for that role. */
function contextOf(tenantId: string, role: string): string {
  return `tenant:${tenantId.toLowerCase()}:role:${role}`;
}

export class TenantSecretStore {
  constructor(
    private readonly meta: pg.Pool,
    readonly keyring: SecretKeyring,
  ) {}

  /** Seals and stores the role's password, replacing any (no rotation under way afterwards). */
  async save(tenantId: string, role: string, password: string, db: Queryable = this.meta): Promise<void> {
    const sealed = sealSecret(this.keyring, password, contextOf(tenantId, role));
    await db.query(
      `INSERT INTO tenant_secrets (tenant_id, role, secret) VALUES ($1, $2, $3)
       ON CONFLICT (tenant_id) DO UPDATE
         SET role = EXCLUDED.role, secret = EXCLUDED.secret, next_secret = NULL,
             version = tenant_secrets.version + 1, rotated_at = now()`,
      [tenantId, role, sealed],
    );
  }

  /** The tenant's password(s), opened; undefined when it has none (shared mode or legacy). */
  async read(tenantId: string): Promise<TenantSecret | undefined> {
    const { rows } = await this.meta.query<SecretRow>('SELECT role, secret, next_secret, version FROM tenant_secrets WHERE tenant_id = $1', [
      tenantId,
    ]);
    const row = rows[0];
    if (!row) return undefined;
    const context = contextOf(tenantId, row.role);
    const what = `the password of role "${row.role}"`;
    return {
      role: row.role,
      current: openSecret(this.keyring, row.secret, context, what),
      next: row.next_secret ? openSecret(this.keyring, row.next_secret, context, `the next password of role "${row.role}"`) : undefined,
      version: row.version,
    };
  }

  async info(tenantId: string): Promise<SecretInfo | undefined> {
    const { rows } = await this.meta.query<SecretRow & { key_id: string; created_at: Date; rotated_at: Date | null }>(
      'SELECT role, secret, next_secret, version, key_id, created_at, rotated_at FROM tenant_secrets WHERE tenant_id = $1',
      [tenantId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      role: row.role,
      keyId: row.key_id,
      version: row.version,
      rotating: row.next_secret !== null,
      createdAt: row.created_at,
      rotatedAt: row.rotated_at,
    };
  }

  /** Rotation step 1: records the next password before the role gets it. Replaces an earlier staged one. */
  async stageNext(tenantId: string, password: string): Promise<void> {
    const { rows } = await this.meta.query<{ role: string }>('SELECT role FROM tenant_secrets WHERE tenant_id = $1', [tenantId]);
    const role = rows[0]?.role;
    if (!role) throw new TenantNotFoundError(tenantId);
    const sealed = sealSecret(this.keyring, password, contextOf(tenantId, role));
    await this.meta.query('UPDATE tenant_secrets SET next_secret = $2 WHERE tenant_id = $1', [tenantId, sealed]);
  }

  /**
   * Rotation step 3, once the role has the next password: it becomes the
   * current one, audited, and servers are told to re-read (one transaction).
   * False when there was nothing staged (already promoted).
   */
  async promoteNext(tenant: Pick<Tenant, 'id' | 'slug'>, actor: string): Promise<boolean> {
    return withClient(this.meta, (client) =>
      withTransaction(client, async () => {
        const { rows } = await client.query<{ version: number; key_id: string }>(
          `UPDATE tenant_secrets SET secret = next_secret, next_secret = NULL, version = version + 1, rotated_at = now()
           WHERE tenant_id = $1 AND next_secret IS NOT NULL RETURNING version, key_id`,
          [tenant.id],
        );
        if (!rows[0]) return false;
        await this.announce(client, tenant.id, 'credentials.rotated', actor, { version: rows[0].version, keyId: rows[0].key_id });
        return true;
      }),
    );
  }

  async remove(tenantId: string, db: Queryable = this.meta): Promise<void> {
    await db.query('DELETE FROM tenant_secrets WHERE tenant_id = $1', [tenantId]);
  }

  /** How many secrets each key seals, and whether this process holds that key. */
  async keyUsage(): Promise<KeyUsage[]> {
    const { rows } = await this.meta.query<{ key_id: string; n: string }>(
      `SELECT k AS key_id, count(*) AS n FROM tenant_secrets,
         LATERAL unnest(ARRAY[key_id, split_part(next_secret, ':', 2)]) AS k
       WHERE k <> '' GROUP BY k ORDER BY k`,
    );
    const current = this.keyring.available ? this.keyring.current().id : undefined;
    const used = rows.map((r) => ({
      keyId: r.key_id,
      secrets: Number(r.n),
      held: r.key_id === current ? 'current' : this.keyring.find(r.key_id) ? 'previous' : 'missing',
    })) satisfies KeyUsage[];
    if (current && !used.some((u) => u.keyId === current)) used.unshift({ keyId: current, secrets: 0, held: 'current' });
    return used;
  }

  /**
   * Re-seals every secret not sealed with the current key, one tenant per
   * transaction under the row's lock (a rotation running meanwhile waits, or
   * went first and is re-sealed as it left the row). Online: readers that
   * hold both keys open either form.
   */
  async rekey(actor: string): Promise<RekeyResult> {
    const key = this.keyring.current();
    const result: RekeyResult = { rekeyed: [], alreadyCurrent: 0, failed: [] };
    const { rows } = await this.meta.query<SecretRow & { tenant_id: string; slug: string }>(
      `SELECT s.tenant_id, t.slug, s.role, s.secret, s.next_secret, s.version
       FROM tenant_secrets s JOIN tenants t ON t.id = s.tenant_id ORDER BY t.slug`,
    );
    for (const row of rows) {
      const sealedBy = [row.secret, row.next_secret].filter((s): s is string => s !== null).map(sealedKeyId);
      if (sealedBy.every((id) => id === key.id)) {
        result.alreadyCurrent++;
        continue;
      }
      try {
        await this.rekeyOne(row.tenant_id, actor);
        result.rekeyed.push({ tenantId: row.tenant_id, slug: row.slug, from: sealedBy.find((id) => id !== key.id) as string });
      } catch (err) {
        if (!(err instanceof SecretKeyError)) throw err;
        result.failed.push({ tenantId: row.tenant_id, slug: row.slug, error: messageOf(err) });
      }
    }
    return result;
  }

  private async rekeyOne(tenantId: string, actor: string): Promise<void> {
    const key = this.keyring.current();
    await withClient(this.meta, (client) =>
      withTransaction(client, async () => {
        const { rows } = await client.query<SecretRow>(
          'SELECT role, secret, next_secret, version FROM tenant_secrets WHERE tenant_id = $1 FOR UPDATE',
          [tenantId],
        );
        const row = rows[0];
        if (!row) return;
        const context = contextOf(tenantId, row.role);
        const reseal = (sealed: string) =>
          sealedKeyId(sealed) === key.id ? sealed : sealWith(key, openSecret(this.keyring, sealed, context), context);
        const from = sealedKeyId(row.secret);
        await client.query('UPDATE tenant_secrets SET secret = $2, next_secret = $3 WHERE tenant_id = $1', [
          tenantId,
          reseal(row.secret),
          row.next_secret === null ? null : reseal(row.next_secret),
        ]);
        const { rows: tenants } = await client.query<TenantRow>('SELECT * FROM tenants WHERE id = $1', [tenantId]);
        if (tenants[0]) await insertAudit(client, tenantFromRow(tenants[0]), 'secrets.rekeyed', actor, { from, to: key.id });
      }),
    );
  }

  /** Audit + NOTIFY for a secret change, on the caller's transaction. */
  private async announce(client: Queryable, tenantId: string, action: string, actor: string, details: Record<string, unknown>): Promise<void> {
    const { rows } = await client.query<TenantRow>('SELECT * FROM tenants WHERE id = $1', [tenantId]);
    if (!rows[0]) return;
    const tenant = tenantFromRow(rows[0]);
    await insertAudit(client, tenant, action, actor, details);
    await notifyTenantChange(client, tenant, tenant.status);
  }
}
