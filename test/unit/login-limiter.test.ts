import { describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../src/erp/auth/login-limiter.js';
import { RateLimitedError } from '../../src/errors.js';

function clock(start = 1_000_000) {
  const c = { now: start, fn: () => c.now };
  return c;
}

function retryAfter(fn: () => void): number {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RateLimitedError);
    return (err as RateLimitedError).retryAfterSeconds;
  }
  throw new Error('not limited');
}

describe('login limiter', () => {
  it('allows 5 attempts in 15 minutes, then answers RATE_LIMITED until the oldest leaves the window', () => {
    const c = clock();
    const limiter = new LoginLimiter({ now: c.fn });
    for (let i = 0; i < 5; i++) {
      limiter.begin('t\na@x');
      c.now += 60_000;
    }
    // The first attempt was 5 minutes ago: 10 minutes to go.
    expect(retryAfter(() => limiter.begin('t\na@x'))).toBe(600);
    c.now += 599_000;
    expect(retryAfter(() => limiter.begin('t\na@x'))).toBe(1);
    c.now += 1_000;
    expect(() => limiter.begin('t\na@x')).not.toThrow();
    // Now the window holds the last 4 old ones and this one: full again.
    expect(() => limiter.begin('t\na@x')).toThrow(RateLimitedError);
  });

  it('a success clears the key; other keys are not affected', () => {
    const c = clock();
    const limiter = new LoginLimiter({ now: c.fn });
    for (let i = 0; i < 5; i++) limiter.begin('t\na@x');
    expect(() => limiter.begin('t\na@x')).toThrow(RateLimitedError);
    expect(() => limiter.begin('t\nb@x')).not.toThrow();
    expect(() => limiter.begin('u\na@x')).not.toThrow();
    limiter.succeed('t\na@x');
    expect(() => limiter.begin('t\na@x')).not.toThrow();
  });

  it('keys by tenant and email as the users table compares them (trimmed, lower-cased)', () => {
    expect(LoginLimiter.key('t1', '  Ann@Example.COM ')).toBe(LoginLimiter.key('t1', 'ann@example.com'));
    expect(LoginLimiter.key('t1', 'ann@example.com')).not.toBe(LoginLimiter.key('t2', 'ann@example.com'));
  });

  it('keeps at most maxKeys keys, dropping the least recently used', () => {
    const limiter = new LoginLimiter({ maxKeys: 3, maxFailures: 1 });
    for (const key of ['a', 'b', 'c']) limiter.begin(key);
    expect(() => limiter.begin('a')).toThrow(RateLimitedError); // touches a: b is now the oldest
    limiter.begin('d');
    expect(limiter.size).toBe(3);
    expect(() => limiter.begin('b')).not.toThrow(); // b was dropped, so it starts afresh
    expect(() => limiter.begin('a')).toThrow(RateLimitedError);
  });
});
