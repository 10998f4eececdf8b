import { describe, expect, it } from 'vitest';
import { redact, redactUrl } from '../../src/redact.js';

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
