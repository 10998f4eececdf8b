/**
 * Where a tenant password must never appear: CLI output (stdout and stderr,
 * JSON or not, errors included), the reference server's log, the audit
 * trail and a dump of the meta database. The passwords are opened with the
 * key in the test and searched for in everything collected. The same for
 * the API's secrets: a user's password (given to `tenant user add` on
 * stdin) and the tokens its login returned.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnvironment } from '../support/test-environment.js';
import { runCli, type CliResult } from '../support/run-cli.js';
import { startServerProcess } from '../support/server-process.js';
import { login } from '../support/api-session.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { Tenant } from '../../src/tenants/tenant.js';

const run = promisify(execFile);
const env = createTestEnvironment();
const ienv = env.isolatedEnv;
const outputs: string[] = [];
const passwords = new Set<string>();
/** API user passwords and tokens. */
const apiSecrets = new Set<string>();
let rt: Runtime;

async function cli(...args: string[]): Promise<CliResult> {
  const result = await runCli(args, ienv);
  outputs.push(`$ tenant ${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
  return result;
}

async function collectPasswords(tenants: Tenant[]): Promise<void> {
  for (const t of tenants) {
    const secret = await rt.secrets.read(t.id);
    if (secret) {
      passwords.add(secret.current);
      if (secret.next) passwords.add(secret.next);
    }
  }
}

beforeAll(async () => {
  rt = await env.runtime(ienv);
});
afterAll(async () => {
  await env.cleanup();
});

describe('no password anywhere', () => {
  it('CLI output, server log, audit trail and meta dump hold no tenant password', async () => {
    expect((await cli('create', '--slug', 'expo-a', '--name', 'Expo A', '--json')).code).toBe(0);
    expect((await cli('create', '--slug', 'expo-b', '--name', 'Expo B')).code).toBe(0);
    const tenants = await rt.registry.list();
    expect(tenants.every((t) => t.appRole !== null && t.ownerRole !== null)).toBe(true);
    await collectPasswords(tenants);
    expect(passwords.size).toBe(2);

    await cli('list', '--json');
    await cli('list');
    await cli('show', 'expo-a', '--json');
    await cli('show', 'expo-a', '--verbose');
    await cli('migrate', '--json');
    await cli('migrate', '--verbose');
    await cli('credentials', 'show', 'expo-a');
    await cli('credentials', 'show', 'expo-a', '--json');
    expect((await cli('credentials', 'show', 'expo-a', '--reveal', '--json')).code).toBe(2); // not a terminal, no --yes
    await cli('secrets', 'status', '--json');
    await cli('repair', '--json');
    await cli('create', '--slug', 'expo-a', '--name', 'again'); // exists: an error path
    expect((await cli('credentials', 'rotate', 'expo-a', '--json')).code).toBe(0);
    await cli('credentials', 'rotate', '--all', '--verbose');
    await collectPasswords(tenants);
    expect(passwords.size).toBeGreaterThanOrEqual(4);

    const users = [];
    for (const [i, t] of tenants.entries()) {
      const user = { email: `clerk${i}@example.test`, password: `api-password-${i}-${crypto.randomUUID()}` };
      const added = await runCli(
        ['user', 'add', t.slug, '--email', user.email, '--role', 'clerk', '--password-stdin'],
        ienv,
        `${user.password}\n`,
      );
      outputs.push(`$ tenant user add ${t.slug} ...\n${added.stdout}\n${added.stderr}`);
      expect(added.code, added.stderr).toBe(0);
      apiSecrets.add(user.password);
      users.push(user);
    }
    await cli('user', 'list', 'expo-a');
    await cli('user', 'list', 'expo-a', '--json');

    const server = await startServerProcess({ ...ienv, LOG_LEVEL: 'debug' });
    try {
      for (const [i, t] of tenants.entries()) {
        const user = users[i] as { email: string; password: string };
        const pair = await login(server.base, t, user.email, user.password);
        apiSecrets.add(pair.accessToken);
        apiSecrets.add(pair.refreshToken);
        const response = await fetch(`${server.base}/api/v1/catalogs/currencies`, {
          headers: { 'x-tenant-id': t.id, authorization: `Bearer ${pair.accessToken}` },
        });
        expect(response.status).toBe(200);
        // A wrong password: an error path of the login.
        await fetch(`${server.base}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'x-tenant-id': t.id, 'content-type': 'application/json' },
          body: JSON.stringify({ email: user.email, password: `${user.password}x` }),
        });
      }
      // A wrong tenant id and a malformed one: error paths of the server.
      await fetch(`${server.base}/api/v1/catalogs/currencies`, { headers: { 'x-tenant-id': '00000000-0000-4000-8000-000000000000' } });
      await fetch(`${server.base}/api/v1/catalogs/currencies`, { headers: { 'x-tenant-id': 'nope' } });
    } finally {
      await server.stop();
      outputs.push(server.log);
    }

    const { rows: audit } = await rt.metaPool.query('SELECT * FROM tenant_audit');
    const { rows: dumpRows } = await rt.metaPool.query(
      "SELECT string_agg(format('%s', t), E'\\n') AS text FROM (SELECT * FROM tenant_secrets) t",
    );
    const haystacks = [...outputs, JSON.stringify(audit), String(dumpRows[0]?.text ?? '')];
    const bindir = process.env.TEST_PG_BINDIR;
    if (bindir && fs.existsSync(path.join(bindir, 'pg_dump'))) {
      haystacks.push((await run(path.join(bindir, 'pg_dump'), ['--dbname', rt.connections.metaUrl], { maxBuffer: 64 << 20 })).stdout);
    }
    for (const password of passwords) {
      for (const text of haystacks) expect(text.includes(password), `a password appeared in:\n${text.slice(0, 400)}`).toBe(false);
    }
    expect(apiSecrets.size).toBe(6);
    for (const secret of apiSecrets) {
      for (const text of haystacks) expect(text.includes(secret), `an API password or token appeared in:\n${text.slice(0, 400)}`).toBe(false);
    }

    // The server stored verifiers, never the plaintext.
    const verifiers = await env.admin((admin) =>
      admin.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = ANY($1)', [tenants.map((t) => t.appRole)]),
    );
    expect(verifiers.rows).toHaveLength(2);
    for (const v of verifiers.rows) expect(v.rolpassword).toMatch(/^SCRAM-SHA-256\$/);
  });
});
