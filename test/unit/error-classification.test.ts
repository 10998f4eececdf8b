import { describe, expect, it } from 'vitest';
import {
  AuthenticationFailedError,
  DatabaseUnavailableError,
  ERROR_TABLE,
  MigrationError,
  isAuthenticationError,
  isConnectionError,
  toToolkitError,
} from '../../src/errors.js';

const withCode = (code: string, message = `failed with ${code}`) => Object.assign(new Error(message), { code });

describe('isConnectionError', () => {
  it.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'ECONNABORTED',
    'ETIMEDOUT',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'EHOSTDOWN',
    'ENETUNREACH',
    'EPIPE',
  ])('socket code %s means the database is unavailable', (code) => expect(isConnectionError(withCode(code))).toBe(true));

  it.each(['57P01', '57P02', '57P03', '53300', '08006'])('SQLSTATE %s means the database is unavailable', (code) =>
    expect(isConnectionError(withCode(code))).toBe(true),
  );

  it.each([
    'Connection terminated unexpectedly',
    'Connection terminated due to connection timeout',
    'Client has encountered a connection error and is not queryable',
    'Client was closed and is not queryable',
  ])('pg message "%s" means the database is unavailable', (message) => expect(isConnectionError(new Error(message))).toBe(true));

  it('looks through causes and AggregateErrors', () => {
    expect(isConnectionError(new Error('migration 0002 failed', { cause: withCode('ECONNRESET') }))).toBe(true);
    expect(isConnectionError(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'connect'))).toBe(true);
    expect(isConnectionError(new DatabaseUnavailableError('down'))).toBe(true);
  });

  it.each([
    withCode('23505', 'duplicate key value violates unique constraint'),
    withCode('57014', 'canceling statement due to statement timeout'),
    withCode('28P01', 'password authentication failed for user "app"'),
    new Error('syntax error at or near "SELEC"'),
    'ECONNRESET',
    undefined,
  ])('does not classify %s as unavailable', (err) => expect(isConnectionError(err)).toBe(false));
});

describe('toToolkitError', () => {
  it('maps socket failures to DATABASE_UNAVAILABLE: exit 5, HTTP 503', () => {
    const known = toToolkitError(withCode('ECONNABORTED'));
    expect(known).toBeInstanceOf(DatabaseUnavailableError);
    expect([known.code, known.exitCode, known.httpStatus]).toEqual(['DATABASE_UNAVAILABLE', 5, 503]);
    expect(toToolkitError(new Error('Connection terminated unexpectedly')).code).toBe('DATABASE_UNAVAILABLE');
  });

  it.each([
    ['28P01', 'password authentication failed for user "tenant_app"'],
    ['28000', 'role "tenant_app" does not exist'],
    ['28000', 'no pg_hba.conf entry for host "10.0.0.1", user "tenant_app", database "mt_acme", no encryption'],
  ])('maps SQLSTATE %s to AUTH_FAILED, naming the role in the hint', (code, message) => {
    const known = toToolkitError(withCode(code, message));
    expect(known).toBeInstanceOf(AuthenticationFailedError);
    expect([known.code, known.exitCode, known.httpStatus]).toEqual(['AUTH_FAILED', 5, 503]);
    expect(known.hint).toContain('"tenant_app"');
    expect(known.details).toMatchObject({ role: 'tenant_app' });
  });

  it('names the role given by the caller and never the password', () => {
    const secret = 's3cr3t-pa55';
    const known = toToolkitError(withCode('28P01', 'password authentication failed'), { role: 'meta_owner' });
    expect(known.hint).toContain('"meta_owner"');
    expect(`${known.message} ${known.hint} ${JSON.stringify(known.details)}`).not.toContain(secret);
    expect(isAuthenticationError(new Error('connect failed', { cause: withCode('28P01') }))).toBe(true);
  });

  it('keeps toolkit errors and maps the rest to INTERNAL', () => {
    const migration = new MigrationError('bad SQL');
    expect(toToolkitError(migration)).toBe(migration);
    expect(toToolkitError(new Error('boom')).code).toBe('INTERNAL');
  });

  it('has one table row for the authentication code', () => {
    expect(ERROR_TABLE.AUTH_FAILED).toEqual({ exit: 5, http: 503 });
  });
});
