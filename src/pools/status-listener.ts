/**
 * LISTENs on TENANT_STATUS_CHANNEL on a dedicated meta-database connection
 * and hands every status change to the caller (cache invalidation, pool
 * retirement). The connection is watched: an error, a server restart or a
 * ping that does not come back makes it reconnect with capped exponential
 * backoff. Notifications sent while we were disconnected are lost, so every
 * reconnect is reported (`onReconnect`) for the caller to drop what it cached.
 */
import pg from 'pg';
import { messageOf } from '../errors.js';
import { redact } from '../redact.js';
import { raceDeadline } from '../deadline.js';
import { quoteIdent } from '../pg/identifiers.js';
import { isTenantStatus } from '../tenants/tenant.js';
import { TENANT_STATUS_CHANNEL, type TenantStatusNotification } from '../tenants/tenant-registry.js';

export type ListenerState = 'idle' | 'connecting' | 'listening' | 'backoff' | 'closed';

export interface StatusListenerOptions {
  /** Meta database connection; used only here and never printed. */
  connection: pg.ClientConfig;
  channel?: string;
  onNotification(notification: TenantStatusNotification): void;
  /** Called after a reconnect (never after the first connect): notifications may have been missed. */
  onReconnect?(): void;
  /** State changes, with the (redacted) error that caused a disconnect. */
  onStateChange?(state: ListenerState, error?: string): void;
  /** First and maximum delay between reconnect attempts (default 100ms, 5s). */
  backoffMs?: { initial: number; max: number };
  /** How often the connection is pinged to notice a silently dead peer (default 10s). */
  pingIntervalMs?: number;
}

/** Capped exponential backoff with ±20% jitter, so a fleet of servers does not reconnect in lockstep. */
export function backoffDelay(attempt: number, initial: number, max: number, random = Math.random): number {
  const base = Math.min(max, initial * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Since start: reconnects (after the first connect) and notifications received on the channel. */
export interface StatusListenerStats {
  state: ListenerState;
  reconnects: number;
  notifications: number;
}

export class StatusListener {
  private readonly counters = { reconnects: 0, notifications: 0 };
  private client: pg.Client | undefined;
  private current: ListenerState = 'idle';
  private attempt = 0;
  private everConnected = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private connectedWaiters: (() => void)[] = [];
  private readonly channel: string;
  private readonly backoff: { initial: number; max: number };

  constructor(private readonly options: StatusListenerOptions) {
    this.channel = options.channel ?? TENANT_STATUS_CHANNEL;
    this.backoff = options.backoffMs ?? { initial: 100, max: 5_000 };
  }

  get state(): ListenerState {
    return this.current;
  }

  stats(): StatusListenerStats {
    return { state: this.current, ...this.counters };
  }

  /** Server process id of the listening connection (for diagnostics and tests). */
  get backendPid(): number | undefined {
    // processID is set by pg at connect time but missing from its type definitions.
    const client: (pg.Client & { processID?: number }) | undefined = this.client;
    return client?.processID;
  }

  /**
   * Connects and LISTENs. Resolves true once listening, or false after the
   * first failure; either way it keeps retrying in the background until close().
   */
  async start(): Promise<boolean> {
    if (this.current !== 'idle') return this.current === 'listening';
    return this.connect();
  }

  /** Resolves once listening (or immediately if already), false if closed first or on timeout. */
  waitUntilListening(timeoutMs = 10_000): Promise<boolean> {
    if (this.current === 'listening') return Promise.resolve(true);
    if (this.current === 'closed') return Promise.resolve(false);
    const woken = new Promise<boolean>((resolve) => this.connectedWaiters.push(() => resolve(this.current === 'listening')));
    return raceDeadline(woken, timeoutMs, () => false);
  }

  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.setState('closed');
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.wakeWaiters();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<boolean> {
    this.setState('connecting');
    const client = new pg.Client({ application_name: 'metapus-tenant-listener', ...this.options.connection, keepAlive: true });
    this.client = client;
    client.on('notification', (msg) => this.handle(msg));
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(this.channel)}`);
    } catch (err) {
      this.lost(client, err);
      return false;
    }
    if (this.client !== client) return false;
    const reconnected = this.everConnected;
    this.everConnected = true;
    this.attempt = 0;
    this.setState('listening');
    this.startPinging(client);
    this.wakeWaiters();
    if (reconnected) {
      this.counters.reconnects++;
      safely(() => this.options.onReconnect?.());
    }
    return true;
  }

  private lost(client: pg.Client, err: unknown): void {
    // Events from a connection we already replaced or closed are stale.
    if (this.client !== client || this.current === 'closed') return;
    this.client = undefined;
    clearInterval(this.pingTimer);
    void client.end().catch(() => undefined);
    this.setState('backoff', redact(messageOf(err)));
    const wait = backoffDelay(this.attempt++, this.backoff.initial, this.backoff.max);
    this.retryTimer = setTimeout(() => void this.connect(), wait);
    this.retryTimer.unref();
  }

  private startPinging(client: pg.Client): void {
    const every = this.options.pingIntervalMs ?? 10_000;
    this.pingTimer = setInterval(() => {
      client
        .query({ text: 'SELECT 1', query_timeout: Math.max(1_000, every) } as pg.QueryConfig)
        .catch((err: unknown) => this.lost(client, err));
    }, every);
    this.pingTimer.unref();
  }

  private handle(msg: pg.Notification): void {
    if (msg.channel !== this.channel || !msg.payload) return;
    this.counters.notifications++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(msg.payload);
    } catch {
      return;
    }
    const n = parsed as Partial<TenantStatusNotification>;
    if (typeof n.id !== 'string' || typeof n.status !== 'string' || !isTenantStatus(n.status)) return;
    const notification: TenantStatusNotification = {
      id: n.id,
      slug: typeof n.slug === 'string' ? n.slug : '',
      status: n.status,
      previousStatus: typeof n.previousStatus === 'string' && isTenantStatus(n.previousStatus) ? n.previousStatus : null,
      at: typeof n.at === 'string' ? n.at : new Date().toISOString(),
    };
    safely(() => this.options.onNotification(notification));
  }

  private setState(state: ListenerState, error?: string): void {
    this.current = state;
    safely(() => this.options.onStateChange?.(state, error));
  }

  private wakeWaiters(): void {
    for (const wake of this.connectedWaiters.splice(0)) wake();
  }
}

/** Callbacks run inside pg's socket handlers, where a throw would crash the process. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // The caller's bug must not take the listener (or the process) down.
  }
}
