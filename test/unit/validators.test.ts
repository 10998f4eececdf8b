import { describe, expect, it } from 'vitest';
import { LISTEN_PORT_RANGE, PORT_RANGE, isPort, isRoleName, isServerHost } from '../../src/validators.js';
import { validatePlan } from '../../src/tenants/tenant.js';
import { UsageError } from '../../src/errors.js';
import { port as portOption } from '../../src/cli/options.js';
import { parseConnectionUrl } from '../../src/connection-url.js';

describe('isPort', () => {
  it('accepts 1-65535 to connect to, 0-65535 to listen on', () => {
    expect([1, 5432, 65535].every((p) => isPort(p))).toBe(true);
    expect([0, 65536, -1, 5432.5, Number.NaN].some((p) => isPort(p))).toBe(false);
    expect(isPort(0, LISTEN_PORT_RANGE)).toBe(true);
    expect(isPort(65536, LISTEN_PORT_RANGE)).toBe(false);
  });

  it('is the range the --port option and connection URLs use', () => {
    expect(portOption(String(PORT_RANGE.max))).toBe(65535);
    expect(() => portOption('0')).toThrow('--port must be a whole number from 1 to 65535');
    expect(() => parseConnectionUrl('postgres://u@db:0/x')).toThrow('bad port');
  });
});

describe('isServerHost', () => {
  it('accepts host names, addresses and socket folders', () => {
    for (const host of ['db.example.com', '127.0.0.1', '::1', 'localhost', '/var/run/postgresql']) {
      expect(isServerHost(host)).toBe(true);
    }
  });

  it('refuses URLs, spaces, user parts, control characters and overlong socket folders', () => {
    for (const host of ['', 'postgres://db', 'a b', 'u@db', 'db\u001b[2J', 'db\u0085', `/${'x'.repeat(95)}`, '/tmp/a b']) {
      expect(isServerHost(host)).toBe(false);
    }
  });
});

describe('isRoleName', () => {
  it('accepts role names as configured (upper case and - are quoted later)', () => {
    expect(['app', 'App_User', 'app-user', '_x', 'a$b', 'a'.repeat(63)].every(isRoleName)).toBe(true);
  });

  it('refuses names PostgreSQL would not take unquoted-safe or too long', () => {
    expect(['', '1app', 'a b', 'a"b', 'a;drop', 'a'.repeat(64)].some(isRoleName)).toBe(false);
  });
});

describe('validatePlan', () => {
  it('returns a known plan and refuses others, naming the list', () => {
    expect(validatePlan('premium')).toBe('premium');
    expect(() => validatePlan('gold')).toThrow(new UsageError('plan must be one of free, standard, premium, enterprise, got "gold"'));
  });
});
