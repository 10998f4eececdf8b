import { describe, expect, it } from 'vitest';
import {
  DatabaseUnavailableError,
  PoolExhaustedError,
  TenantNotFoundError,
  TenantSuspendedError,
  TenantToolkitError,
  TenantUnavailableError,
  ValidationError,
} from '../../src/errors.js';
import { errorResponse } from '../../src/server/http-errors.js';

describe('errorResponse', () => {
  it('maps typed errors to their HTTP status with a { code, message } body', () => {
    expect(errorResponse(new TenantNotFoundError('abc'))).toEqual({
      status: 404,
      body: { code: 'TENANT_NOT_FOUND', message: 'tenant "abc" not found' },
      headers: {},
    });
    expect(errorResponse(new TenantSuspendedError('acme')).status).toBe(403);
    expect(errorResponse(new ValidationError({ code: 'bad' })).body).toEqual({
      code: 'VALIDATION_FAILED',
      message: 'the request is invalid',
      fields: { code: 'bad' },
    });
  });

  it('adds Retry-After to 503s a client can retry', () => {
    expect(errorResponse(new TenantUnavailableError('acme', 'provisioning', 5)).headers).toEqual({ 'retry-after': '5' });
    expect(errorResponse(new PoolExhaustedError('full'))).toMatchObject({ status: 503, headers: { 'retry-after': '1' } });
  });

  it('never sends server-side details: fixed messages for internal and database errors', () => {
    const secret = 'postgres://app:s3cret@db.internal:5432/mt_acme';
    const internal = errorResponse(new Error(`exploded near ${secret}`));
    expect(internal).toMatchObject({ status: 500, body: { code: 'INTERNAL', message: 'internal server error' } });
    const down = errorResponse(Object.assign(new Error(`connect ECONNREFUSED 10.0.0.7:5432 ${secret}`), { code: 'ECONNREFUSED' }));
    expect(down).toMatchObject({ status: 503, body: { code: 'DATABASE_UNAVAILABLE' } });
    expect(JSON.stringify(down)).not.toContain('10.0.0.7');
    expect(JSON.stringify(errorResponse(new DatabaseUnavailableError(secret)))).not.toContain('s3cret');
    const refused = errorResponse(Object.assign(new Error('password authentication failed for user "mt_acme_app"'), { code: '28P01' }));
    expect(refused).toMatchObject({
      status: 503,
      body: { code: 'AUTH_FAILED', message: 'the database is unavailable; try again shortly' },
      headers: { 'retry-after': '30' },
    });
    expect(JSON.stringify(refused)).not.toContain('mt_acme_app');
  });

  it('redacts secrets even in client-error messages', () => {
    const body = errorResponse(new TenantToolkitError('USAGE', 'bad url postgres://u:hunter2@h/db')).body;
    expect(body.message).not.toContain('hunter2');
  });

  it("treats pg's pool wait timeout as POOL_EXHAUSTED", () => {
    expect(errorResponse(new Error('timeout exceeded when trying to connect')).body.code).toBe('POOL_EXHAUSTED');
  });

  it('answers 400 for text PostgreSQL refused (22021, 22P05), also when wrapped as INTERNAL with the pg error as cause', () => {
    const refused = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' });
    expect(errorResponse(refused)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    const wrapped = new TenantToolkitError('INTERNAL', 'query failed', { cause: Object.assign(new Error('x'), { code: '22P05' }) });
    expect(errorResponse(wrapped)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    // Other SQL errors stay server errors.
    expect(errorResponse(Object.assign(new Error('syntax error'), { code: '42601' })).status).toBe(500);
  });
});
