/**
 * Who a tenant pool logs in as, and the one rule for a refused login.
 *
 * - Shared mode (tenant.appRole null): the shared tenant credentials
 *   (TENANT_DB_USER / the embedded app user), exactly as before.
 * - Isolated mode (appRole set): that role, with the password from the tenant
 *   secret store, decrypted once and kept per tenant in memory. pg gets the
 *   password as an async function, so every new connection asks this cache,
 *   and a rotation the server hears about is used by the next connection.
 *
 * The rule (rotation protocol, see credential-rotation.ts): a new connection
 * uses `current`. When the server refuses it (28P01), the cached secret is
 * dropped and re-read once, and the connection is tried again with `next` if
 * a rotation is staged (its ALTER ROLE may have happened), else with the
 * fresh `current` (a rotation finished that this server missed). A second
 * refusal, or nothing new to try, fails with AUTH_FAILED naming the role.
 * Kill -9 at any step of a rotation therefore leaves the tenant reachable.
 *
 * A missing or wrong secret key (SecretKeyError) is raised before any socket
 * is opened, as itself, so the HTTP layer answers SECRET_KEY (500).
 */
import pg from 'pg';
import { AuthenticationFailedError, TenantToolkitError, isAuthenticationError, messageOf } from '../errors.js';
import { tenantClientConfig, type TenantCredentials } from '../pg/connection-settings.js';
import type { Tenant } from '../tenants/tenant.js';
import type { TenantSecretStore } from '../secrets/tenant-secret-store.js';
import { GatedPool, composeGates, type ConnectGate } from './gated-pool.js';

/** What the pools need of the TenantSecretStore: a decrypted read. */
export type TenantSecretReader = Pick<TenantSecretStore, 'read'>;

interface CachedLogin {
  role: string;
  password: string;
}

/** The login fields of a tenant row: a pool opened for one is wrong for the other when these differ. */
export function sameLogin(a: Pick<Tenant, 'appRole' | 'ownerRole'>, b: Pick<Tenant, 'appRole' | 'ownerRole'>): boolean {
  return a.appRole === b.appRole && a.ownerRole === b.ownerRole;
}

export class TenantLogins {
  private readonly cache = new Map<string, CachedLogin>();
  /** One secret read at a time per tenant; callers share it. */
  private readonly reads = new Map<string, Promise<CachedLogin>>();
  /** Bumped by forget(): a read that started before cannot put the old secret back. */
  private readonly generations = new Map<string, number>();
  private epoch = 0;

  constructor(
    private readonly shared: TenantCredentials,
    private readonly secrets: TenantSecretReader | undefined,
  ) {}

  /** pg config for the tenant's pool: the shared login, or its own role with the cached password. */
  clientConfig(tenant: Tenant, extra: Partial<pg.PoolConfig> = {}): pg.PoolConfig {
    const config = tenantClientConfig(tenant, this.shared, extra);
    if (tenant.appRole === null) return config;
    const { password: _shared, ...rest } = config;
    return { ...rest, user: tenant.appRole, password: () => this.password(tenant) };
  }

  /** The gate a pool's connect goes through (undefined in shared mode: pg's own connect). */
  gate(tenant: Tenant): ConnectGate | undefined {
    if (tenant.appRole === null) return undefined;
    return (connect) => this.open(tenant, connect);
  }

  /**
   * A new pg.Pool for the tenant, with the login gate on its connect when it
   * logs in with its own role, around `inner` (the server budget's gate).
   */
  createPool(tenant: Tenant, config: pg.PoolConfig, inner?: ConnectGate): pg.Pool {
    const gate = composeGates(this.gate(tenant), inner);
    return gate ? new GatedPool(config, gate) : new pg.Pool(config);
  }

  /** Drops the tenant's cached secret (a status/credential hint arrived, or its pool closed). */
  forget(tenantId: string): void {
    const id = tenantId.toLowerCase();
    this.cache.delete(id);
    this.generations.set(id, (this.generations.get(id) ?? 0) + 1);
  }

  /** Drops every cached secret (notifications may have been missed). */
  forgetAll(): void {
    this.cache.clear();
    this.generations.clear();
    this.epoch++;
  }

  /** Tenants whose secret is cached (for tests and stats). */
  get cached(): number {
    return this.cache.size;
  }

  /** The password a new connection uses now (pg calls this for every new connection). */
  async password(tenant: Tenant): Promise<string> {
    const hit = this.cache.get(tenant.id.toLowerCase());
    return hit ? hit.password : (await this.load(tenant, 'current')).password;
  }

  /**
   * The retry rule around one connection attempt. The secret is resolved
   * first, so a key problem fails here and not inside pg's handshake.
   */
  async open<T>(tenant: Tenant, connect: () => Promise<T>): Promise<T> {
    const tried = await this.password(tenant);
    try {
      return await connect();
    } catch (err) {
      if (!isAuthenticationError(err)) throw err;
      this.forget(tenant.id);
      const fresh = await this.load(tenant, 'next');
      // Someone already switched to what the re-read offers and it was refused too: nothing new to try.
      if (fresh.password === tried) throw refused(tenant, err);
      try {
        return await connect();
      } catch (again) {
        if (isAuthenticationError(again)) {
          this.forget(tenant.id);
          throw refused(tenant, again);
        }
        throw again;
      }
    }
  }

  /** Reads the secret (single flight per tenant): `current`, or `next` when one is staged and we prefer it. */
  private load(tenant: Tenant, prefer: 'current' | 'next'): Promise<CachedLogin> {
    const id = tenant.id.toLowerCase();
    const readKey = `${prefer}:${id}`;
    const running = this.reads.get(readKey);
    if (running) return running;
    const generation = this.generation(id);
    const read = this.readSecret(tenant, prefer)
      .then((login) => {
        // Nothing forgotten meanwhile; and a recovery's choice (next) is not overwritten by a plain read that ran beside it.
        if (this.generation(id) === generation && (prefer === 'next' || !this.cache.has(id))) this.cache.set(id, login);
        return login;
      })
      .finally(() => this.reads.delete(readKey));
    this.reads.set(readKey, read);
    return read;
  }

  private async readSecret(tenant: Tenant, prefer: 'current' | 'next'): Promise<CachedLogin> {
    const role = tenant.appRole as string;
    if (!this.secrets) {
      throw new TenantToolkitError('INTERNAL', `tenant "${tenant.slug}" logs in as its own role "${role}", but no secret store was given`);
    }
    const secret = await this.secrets.read(tenant.id);
    if (!secret) {
      throw new AuthenticationFailedError(`no password is recorded for role "${role}" of tenant "${tenant.slug}"`, {
        role,
        hint: `run \`tenant credentials rotate ${tenant.slug}\` to give the role a new password`,
      });
    }
    if (secret.role !== role) {
      throw new AuthenticationFailedError(
        `the password recorded for tenant "${tenant.slug}" belongs to role "${secret.role}", but the tenant logs in as "${role}"`,
        { role, hint: `run \`tenant credentials rotate ${tenant.slug}\` to give the role a new password` },
      );
    }
    const password = prefer === 'next' ? (secret.next ?? secret.current) : secret.current;
    return { role, password };
  }

  private generation(id: string): string {
    return `${this.epoch}:${this.generations.get(id) ?? 0}`;
  }
}

/** The server refused the tenant's role twice (or once, with nothing new to try). Names the role, never the password. */
function refused(tenant: Tenant, err: unknown): AuthenticationFailedError {
  const role = tenant.appRole as string;
  return new AuthenticationFailedError(`authentication failed for role "${role}" of tenant "${tenant.slug}": ${messageOf(err)}`, {
    cause: err,
    role,
    hint: `the password recorded for the tenant does not match its role; run \`tenant credentials rotate ${tenant.slug}\``,
  });
}
