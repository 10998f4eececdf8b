import { describe, expect, it } from 'vitest';
import { canonicalHost, isLoopbackHost, serverKey } from '../../src/pg/server-key.js';

describe('serverKey', () => {
  it('gives every spelling of the loopback server one key', () => {
    const keys = ['localhost', '127.0.0.1', '::1', '[::1]', 'LocalHost'].map((h) => serverKey(h, 5432));
    expect(new Set(keys)).toEqual(new Set(['127.0.0.1:5432']));
  });

  it('compares host names without regard to case, and keeps ports apart', () => {
    expect(serverKey('DB.Example.com', 5432)).toBe(serverKey('db.example.com', 5432));
    expect(serverKey('db.example.com', 5432)).not.toBe(serverKey('db.example.com', 5433));
    expect(serverKey('db-a', 5432)).not.toBe(serverKey('db-b', 5432));
  });

  it('keeps socket folders exactly as written (paths are case-sensitive)', () => {
    expect(canonicalHost('/var/run/PostgreSQL')).toBe('/var/run/PostgreSQL');
    expect(serverKey('/tmp/a', 5432)).not.toBe(serverKey('/tmp/A', 5432));
  });

  it('tells loopback hosts from others', () => {
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('127.0.0.2')).toBe(false);
    expect(isLoopbackHost('db.example.com')).toBe(false);
    expect(isLoopbackHost('/var/run/postgresql')).toBe(false);
  });
});
