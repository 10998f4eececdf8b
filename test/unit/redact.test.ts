import { describe, expect, it } from 'vitest';
import { redact, redactUrl } from '../../src/redact.js';
import { parseDuration } from '../../src/duration.js';

describe('redact', () => {
  it('hides passwords in URLs and key=value strings', () => {
    expect(redact('connect postgres://app:s3cr%40t@db:5432/x failed')).toBe('connect postgres://app:***@db:5432/x failed');
    expect(redact('host=db password=hunter2 user=x')).toBe('host=db password=*** user=x');
    expect(redactUrl('postgresql://u:p@h/db')).toBe('postgresql://u:***@h/db');
  });
  it('leaves text without secrets alone', () => {
    expect(redact('postgres://app@db/x')).toBe('postgres://app@db/x');
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(['10', '5x', '', 'm'])('refuses %s', (text) => expect(parseDuration(text)).toBeUndefined());
});
