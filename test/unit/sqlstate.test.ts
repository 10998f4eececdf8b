import { describe, expect, it } from 'vitest';
import {
  SQLSTATE,
  isConcurrentCatalogUpdate,
  isDuplicateDatabase,
  isInsufficientPrivilege,
  isLockNotAvailable,
  isStatementTimeout,
  isUniqueViolation,
  isUnstorableText,
  sqlStateOf,
} from '../../src/errors.js';

const pgError = (code: string, message = `failed with ${code}`, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { code, ...extra });

describe('pg error interpretation', () => {
  it('reads the SQLSTATE of an error, nothing from other values', () => {
    expect(sqlStateOf(pgError('23505'))).toBe('23505');
    expect(sqlStateOf(new Error('plain'))).toBeUndefined();
    expect(sqlStateOf(undefined)).toBeUndefined();
    expect(sqlStateOf({ code: 42 })).toBeUndefined();
  });

  it('tells a unique violation, and which constraint refused the row', () => {
    const err = pgError(SQLSTATE.uniqueViolation, 'duplicate key', { constraint: 'currencies_single_base_key' });
    expect(isUniqueViolation(err)).toBe(true);
    expect(isUniqueViolation(err, 'currencies_single_base_key')).toBe(true);
    expect(isUniqueViolation(err, 'currencies_pkey')).toBe(false);
    expect(isUniqueViolation(pgError('23503'))).toBe(false);
  });

  it('counts both ways of losing a CREATE DATABASE race as a duplicate database', () => {
    expect(isDuplicateDatabase(pgError('42P04'))).toBe(true);
    expect(isDuplicateDatabase(pgError('23505'))).toBe(true);
    expect(isDuplicateDatabase(pgError('42501'))).toBe(false);
  });

  it('tells a statement timeout from a cancel with the same SQLSTATE', () => {
    expect(isStatementTimeout(pgError('57014', 'canceling statement due to statement timeout'))).toBe(true);
    expect(isStatementTimeout(pgError('57014', 'canceling statement due to user request'))).toBe(false);
    expect(isStatementTimeout(pgError('55P03', 'canceling statement due to statement timeout'))).toBe(false);
  });

  it('names privilege, lock and concurrent-update failures', () => {
    expect(isInsufficientPrivilege(pgError('42501'))).toBe(true);
    expect(isLockNotAvailable(pgError('55P03'))).toBe(true);
    expect(isConcurrentCatalogUpdate(pgError('XX000', 'tuple concurrently updated'))).toBe(true);
    expect(isLockNotAvailable(pgError('42501'))).toBe(false);
  });

  it('finds text the database cannot store, also behind a wrapper', () => {
    expect(isUnstorableText(pgError('22021'))).toBe(true);
    expect(isUnstorableText(pgError('22P05'))).toBe(true);
    expect(isUnstorableText(new Error('wrapped', { cause: pgError('22021') }))).toBe(true);
    expect(isUnstorableText(pgError('22P02'))).toBe(false);
  });
});
