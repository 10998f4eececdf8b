/**
 * Login attempts per (tenant, email): after `maxFailures` failed attempts in
 * `windowMs` the next ones are refused with RATE_LIMITED and a Retry-After
 * until the oldest of them leaves the window; a successful login clears the
 * key. An attempt counts from the moment it starts (not when its password
 * check fails), so parallel guesses cannot slip past the limit together.
 *
 * Per process and in memory: a fleet of N servers allows up to N times the
 * limit, and a restart forgets. Bounded: at most `maxKeys` keys are kept,
 * the least recently used dropped first, so a flood of random emails costs
 * a fixed amount of memory.
 */
import { RateLimitedError } from '../../errors.js';
import { RecencyMap } from '../../pools/recency-map.js';

export interface LoginLimiterOptions {
  maxFailures?: number;
  windowMs?: number;
  maxKeys?: number;
  now?: () => number;
}

export class LoginLimiter {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly maxKeys: number;
  private readonly now: () => number;
  /** Start times of the attempts in the window, oldest first (never more than maxFailures). */
  private readonly attempts = new RecencyMap<string, number[]>();

  constructor(options: LoginLimiterOptions = {}) {
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 15 * 60_000;
    this.maxKeys = options.maxKeys ?? 50_000;
    this.now = options.now ?? Date.now;
  }

  /** The key of an email in a tenant (emails compare trimmed and lower-cased, as the users table does). */
  static key(tenantId: string, email: string): string {
    return `${tenantId}\n${email.trim().toLowerCase()}`;
  }

  get size(): number {
    return this.attempts.size;
  }

  /** Counts an attempt, or throws RateLimitedError when the key has used up its attempts. */
  begin(key: string): void {
    const now = this.now();
    const recent = (this.attempts.get(key) ?? []).filter((at) => at > now - this.windowMs);
    if (recent.length >= this.maxFailures) {
      this.attempts.set(key, recent);
      const retryAfterMs = (recent[0] as number) + this.windowMs - now;
      throw new RateLimitedError('too many failed logins for this email; try again later', retryAfterMs / 1000);
    }
    recent.push(now);
    this.attempts.set(key, recent);
    this.evict();
  }

  /** The attempt succeeded: the key starts afresh. */
  succeed(key: string): void {
    this.attempts.delete(key);
  }

  private evict(): void {
    while (this.attempts.size > this.maxKeys) {
      const oldest = this.attempts.keys().next();
      if (oldest.done) return;
      this.attempts.delete(oldest.value);
    }
  }
}
