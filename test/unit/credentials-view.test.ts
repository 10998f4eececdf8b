/**
 * What `tenant credentials show|rotate|isolate` print: the credential block
 * (a revealed URL only where asked for), one line per tenant, the totals,
 * and the JSON shapes.
 */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { Terminal, type OutputStream } from '../../src/cli/terminal.js';
import {
  credentialStatusLabel,
  credentialsJson,
  isolationJson,
  isolationLine,
  renderCredentials,
  rotationJson,
  rotationLine,
  totalsText,
} from '../../src/cli/credentials-view.js';
import type { TenantCredentialInfo } from '../../src/provision/tenant-credentials.js';
import type { RotationResult } from '../../src/provision/credential-rotation.js';
import { DatabaseUnavailableError } from '../../src/errors.js';

const c = new Chalk({ level: 0 });

function capture() {
  const chunks: string[] = [];
  const stream = { isTTY: false, write: (chunk: string) => (chunks.push(chunk), true) } as unknown as OutputStream;
  return { stream, text: () => chunks.join('') };
}

function terminal(json = false) {
  const out = capture();
  const err = capture();
  return { term: new Terminal({ env: { NO_COLOR: '1' }, stdout: out.stream, stderr: err.stream, json }), out, err };
}

const isolated: TenantCredentialInfo = {
  tenantId: '6f1c1f0e-8d2a-4a59-9f3e-2b1f0c9d8e7a',
  slug: 'acme',
  mode: 'isolated',
  ownerRole: 'mt_acme_owner',
  appRole: 'mt_acme_app',
  loginRole: 'mt_acme_app',
  keyId: '0123456789abcdef',
  secretVersion: 3,
  rotatedAt: new Date('2026-11-01T10:00:00Z'),
  rotating: false,
  url: 'postgres://mt_acme_app:***@127.0.0.1:5432/mt_acme',
  revealed: false,
};

describe('credentials view', () => {
  it('shows an isolated tenant without its password, and no advice', () => {
    const { term, out, err } = terminal();
    const revealed: string[] = [];
    renderCredentials(term, isolated, (text) => revealed.push(text));
    expect(out.text()).toMatch(/mode\s+isolated \(its own login role\)/);
    expect(out.text()).toMatch(/secret version\s+3/);
    expect(out.text()).toMatch(/url\s+postgres:\/\/mt_acme_app:\*\*\*@/);
    expect(revealed).toEqual([]);
    expect(err.text()).toBe('');
  });

  it('writes a revealed URL only through the reveal path, and advises on legacy tenants and half-done rotations', () => {
    const { term, out, err } = terminal();
    const revealed: string[] = [];
    const legacy: TenantCredentialInfo = {
      ...isolated,
      mode: 'legacy',
      ownerRole: null,
      appRole: null,
      loginRole: 'metapus_app',
      keyId: null,
      secretVersion: null,
      rotatedAt: null,
      rotating: true,
      url: 'postgres://metapus_app:s3cret@127.0.0.1:5432/mt_acme',
      revealed: true,
    };
    renderCredentials(term, legacy, (text) => revealed.push(text));
    expect(out.text()).toMatch(/owner role\s+-/);
    expect(out.text()).toMatch(/url\s+\(below\)/);
    expect(out.text()).not.toContain('s3cret');
    expect(revealed).toEqual(['postgres://metapus_app:s3cret@127.0.0.1:5432/mt_acme\n']);
    expect(err.text()).toContain('rotation was left half done');
    expect(err.text()).toContain('tenant credentials isolate acme');
  });

  it('prints JSON: redacted unless revealed, then only through the reveal path', () => {
    const plain = terminal(true);
    renderCredentials(plain.term, isolated, () => undefined);
    expect(JSON.parse(plain.out.text())).toEqual(credentialsJson(isolated));
    expect(credentialsJson(isolated)).toMatchObject({ rotatedAt: '2026-11-01T10:00:00.000Z', revealed: false });

    const shown = terminal(true);
    const revealed: string[] = [];
    renderCredentials(shown.term, { ...isolated, revealed: true, url: 'postgres://a:pw@h:1/d', rotatedAt: null }, (t) => revealed.push(t));
    expect(shown.out.text()).toBe('');
    expect(JSON.parse(revealed.join(''))).toMatchObject({ url: 'postgres://a:pw@h:1/d', rotatedAt: null });
  });

  it('says how each rotation ended, and totals them', () => {
    const base: RotationResult = {
      tenantId: 't1',
      slug: 'acme',
      status: 'rotated',
      role: 'mt_acme_app',
      resumed: false,
      version: 4,
      durationMs: 12.7,
    };
    expect(rotationLine(c, base)).toBe('acme: rotated, secret version 4');
    expect(rotationLine(c, { ...base, resumed: true, version: null })).toBe('acme: rotated (completed a rotation left half done)');
    expect(rotationLine(c, { ...base, status: 'skipped', reason: 'shared mode' })).toBe('acme: skipped (shared mode)');
    expect(rotationLine(c, { ...base, status: 'skipped' })).toBe('acme: skipped');
    const failed: RotationResult = { ...base, status: 'failed', error: { code: 'AUTH_FAILED', message: 'refused', hint: 'check the admin' } };
    expect(rotationLine(c, failed)).toBe('acme: failed: refused (check the admin)');
    expect(rotationLine(c, { ...failed, error: { code: 'X', message: 'gone' } })).toBe('acme: failed: gone');
    expect(rotationJson(failed)).toMatchObject({ status: 'failed', durationMs: 13, error: { code: 'AUTH_FAILED' } });
    expect(rotationJson(base)).not.toHaveProperty('error');
    expect(rotationJson({ ...base, status: 'skipped', reason: 'r' })).toMatchObject({ reason: 'r' });
    expect(totalsText({ rotated: 2, skipped: 1, failed: 0 })).toBe('2 rotated, 1 skipped, 0 failed');
    expect(credentialStatusLabel(new Chalk({ level: 1 }), 'failed')).toContain('\u001b[31m');
  });

  it('says how each isolation ended', () => {
    const done = {
      tenant: { id: 't1', slug: 'acme' },
      outcome: 'isolated',
      ownerRole: 'mt_acme_owner',
      appRole: 'mt_acme_app',
      reowned: 7,
      revokedFrom: ['metapus_app'],
      durationMs: 40.2,
    };
    expect(isolationLine(c, done)).toBe('acme: isolated (owner mt_acme_owner, app mt_acme_app, 7 object(s) re-owned); metapus_app lost access');
    expect(isolationLine(c, { ...done, reowned: 0, revokedFrom: [], ownerRole: undefined })).toBe('acme: isolated (owner -, app mt_acme_app)');
    expect(isolationLine(c, { ...done, outcome: 'already-isolated' })).toBe('acme: already-isolated');
    const failed = { ...done, outcome: 'failed', error: new DatabaseUnavailableError('boom') };
    expect(isolationLine(c, failed)).toBe('acme: failed: boom');
    expect(isolationJson(failed)).toMatchObject({ status: 'failed', error: { code: 'DATABASE_UNAVAILABLE', message: 'boom' }, durationMs: 40 });
    expect(isolationJson({ ...done, ownerRole: undefined, appRole: undefined })).toMatchObject({ ownerRole: null, appRole: null });
  });
});
