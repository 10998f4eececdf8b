import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { loadTokenKey, tokenTtls } from '../../src/erp/auth/token-key.js';
import { ConfigError, SecretKeyError } from '../../src/errors.js';

const keyText = () => crypto.randomBytes(32).toString('base64');
const folders: string[] = [];

function tempHome(): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'token-key-'));
  folders.push(folder);
  return folder;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

afterEach(() => {
  for (const folder of folders.splice(0)) fs.rmSync(folder, { recursive: true, force: true });
});

describe('API token configuration', () => {
  it('defaults to 15 minute access and 30 day refresh tokens, parsed as durations', () => {
    const { api } = parseConfig({});
    expect(api).toEqual({ tokenKey: undefined, tokenKeyFile: undefined, accessTokenTtlMs: 900_000, refreshTokenTtlMs: 2_592_000_000 });
    expect(tokenTtls(api)).toEqual({ accessTtlSeconds: 900, refreshTtlSeconds: 2_592_000 });
    expect(tokenTtls(parseConfig({ API_ACCESS_TOKEN_TTL: '1h30m', API_REFRESH_TOKEN_TTL: '7d' }).api)).toEqual({
      accessTtlSeconds: 5400,
      refreshTtlSeconds: 604_800,
    });
  });

  it('reports bad values at once, never echoing a key', () => {
    const secret = 'not-a-key-but-secret';
    const problems = problemsOf(() => parseConfig({ API_TOKEN_KEY: secret, API_ACCESS_TOKEN_TTL: '15 minutes', API_REFRESH_TOKEN_TTL: '0s' }));
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^API_TOKEN_KEY /);
    expect(problems.join('\n')).not.toContain(secret);
    expect(problems[1]).toBe('API_ACCESS_TOKEN_TTL must be a duration like 30s, 10m or 1h, got "15 minutes"');
    expect(problems[2]).toMatch(/^API_REFRESH_TOKEN_TTL must be a duration/);
  });

  it('refuses both key variables at once, and the tenant-secret key as the token key', () => {
    const key = keyText();
    expect(problemsOf(() => parseConfig({ API_TOKEN_KEY: key, API_TOKEN_KEY_FILE: '/etc/token.key' }))).toEqual([
      'API_TOKEN_KEY and API_TOKEN_KEY_FILE are both set; set one',
    ]);
    expect(problemsOf(() => parseConfig({ API_TOKEN_KEY: key, TENANT_SECRET_KEY: key }))).toEqual([
      'API_TOKEN_KEY is the same key as TENANT_SECRET_KEY; give access tokens a key of their own',
    ]);
  });
});

describe('the token key', () => {
  it('comes from API_TOKEN_KEY or API_TOKEN_KEY_FILE', () => {
    const text = keyText();
    expect(loadTokenKey(parseConfig({ API_TOKEN_KEY: text }).api)).toEqual(Buffer.from(text, 'base64'));
    const file = path.join(tempHome(), 'k');
    fs.writeFileSync(file, `${text}\n`);
    expect(loadTokenKey(parseConfig({ API_TOKEN_KEY_FILE: file }).api)).toEqual(Buffer.from(text, 'base64'));
    expect(() => loadTokenKey(parseConfig({ API_TOKEN_KEY_FILE: path.join(tempHome(), 'missing') }).api)).toThrow(SecretKeyError);
    expect(() => loadTokenKey(parseConfig({ API_TOKEN_KEY_FILE: path.join(tempHome(), 'missing') }).api)).toThrow(/API_TOKEN_KEY_FILE/);
  });

  it('with neither, a configured server refuses to start, naming both variables in one line', () => {
    let error: unknown;
    try {
      loadTokenKey(parseConfig({}).api, {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/API_TOKEN_KEY or API_TOKEN_KEY_FILE/);
    expect((error as Error).message).not.toContain('\n');
  });

  it('with neither and the embedded cluster, TENANT_HOME/token.key is made once (0600) and reused', () => {
    const home = tempHome();
    const notices: string[] = [];
    const first = loadTokenKey(parseConfig({}).api, { embeddedHome: home, onNotice: (m) => notices.push(m) });
    const file = path.join(home, 'token.key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(first).toHaveLength(32);
    expect(notices).toEqual([`created the access-token key in ${file}`]);
    expect(loadTokenKey(parseConfig({}).api, { embeddedHome: home, onNotice: (m) => notices.push(m) })).toEqual(first);
    expect(notices).toHaveLength(1);
    // Never the tenant-secret key file beside it.
    expect(fs.existsSync(path.join(home, 'secret.key'))).toBe(false);
  });
});
