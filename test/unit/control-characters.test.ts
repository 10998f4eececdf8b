import { describe, expect, it } from 'vitest';
import { escapeControlCharacters, hasControlCharacters } from '../../src/control-characters.js';
import { shown, tenantDetails } from '../../src/cli/tenant-view.js';
import { Chalk } from 'chalk';
import { fakeTenant } from '../support/fake-tenant.js';

describe('control characters', () => {
  it('finds C0, DEL and C1 controls, and nothing else', () => {
    for (const text of ['a\u001bb', 'tab\t', 'nl\n', 'del\u007f', 'csi\u009b', 'nul\u0000']) expect(hasControlCharacters(text)).toBe(true);
    for (const text of ['ACME Corp', 'Глобекс', 'naïve — “quoted”', '日本']) expect(hasControlCharacters(text)).toBe(false);
  });

  it('escapes them visibly, keeping newlines only when asked', () => {
    expect(escapeControlCharacters('a\u001b[2Jb\u009b\u007f\n')).toBe('a\\x1b[2Jb\\x9b\\x7f\\x0a');
    expect(escapeControlCharacters('one\ntwo\u0007', { keepNewlines: true })).toBe('one\ntwo\\x07');
    expect(escapeControlCharacters('Глобекс')).toBe('Глобекс');
  });

  it('is applied to every stored field a view shows', () => {
    const evil = '\u001b]0;owned\u0007';
    const tenant = fakeTenant({ name: evil, dbName: `db${evil}`, dbHost: `h${evil}`, schemaVersion: `v${evil}` });
    const text = tenantDetails(new Chalk({ level: 0 }), tenant)
      .map(([k, v]) => `${k} ${v}`)
      .join('\n');
    expect(hasControlCharacters(text.replace(/\n/g, ''))).toBe(false);
    expect(text).toContain(shown(evil));
  });
});
