/**
 * `tenant user` against a real tenant database: the built CLI adds users
 * (password from stdin, or a hidden prompt on a terminal), lists, disables
 * and enables them. What the CLI claims is checked in the tenant database
 * itself: the hash, the role rows, the revoked refresh tokens.
 */
import { scrypt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { withDatabase } from '../../src/connection-url.js';
import { STANDARD_ROLES } from '../../src/erp/auth/permissions.js';
import { eventually } from '../support/eventually.js';
import { HAS_PTY, tenantInPty, type PtySession } from '../support/pty.js';
import { runCli } from '../support/run-cli.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
const PASSWORD = 'correct horse battery staple';

interface CreatedTenant {
  id: string;
  slug: string;
  dbName: string;
}

let acme: CreatedTenant;
let other: CreatedTenant;

async function createTenant(slug: string): Promise<CreatedTenant> {
  const result = await runCli(['create', '--slug', slug, '--name', slug, '--json'], env.env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as CreatedTenant;
}

beforeAll(async () => {
  [acme, other] = await Promise.all([createTenant('user-corp'), createTenant('other-corp')]);
});

afterAll(() => env.cleanup());

async function inTenantDb<T>(tenant: CreatedTenant, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: withDatabase(env.adminUrl, tenant.dbName) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Checks `password` against a `scrypt$N$r$p$salt$hash` string, as the login will. */
function verifies(stored: string, password: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  expect(scheme).toBe('scrypt');
  const expected = Buffer.from(hash as string, 'base64');
  return new Promise((resolve, reject) => {
    scrypt(
      password,
      Buffer.from(salt as string, 'base64'),
      expected.length,
      { N: Number(n), r: Number(r), p: Number(p), maxmem: 256 * 1024 * 1024 },
      (err, derived) => (err ? reject(err) : resolve(derived.equals(expected))),
    );
  });
}

async function userRow(tenant: CreatedTenant, email: string) {
  return inTenantDb(tenant, async (c) => {
    const { rows } = await c.query<{ id: string; password_hash: string; is_active: boolean; full_name: string | null; roles: string[] }>(
      `SELECT u.id, u.password_hash, u.is_active, u.full_name,
              array(SELECT r.code FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id ORDER BY r.code) AS roles
       FROM users u WHERE lower(u.email) = lower($1)`,
      [email],
    );
    return rows[0];
  });
}

interface ListedUser {
  id: string;
  email: string;
  fullName: string | null;
  roles: string[];
  isActive: boolean;
  lastLoginAt: string | null;
  createdAt: string;
}

async function listed(tenant: string): Promise<ListedUser[]> {
  const result = await runCli(['user', 'list', tenant, '--json'], env.env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as ListedUser[];
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('error:'));
}

// One tenant's users go through their life in order: later steps rely on the users added before.
describe.sequential('tenant user (scenario)', () => {
  it('adds an admin with the password from stdin: only its first line, stored as a scrypt hash, never printed', async () => {
    const result = await runCli(
      ['user', 'add', 'user-corp', '--email', 'Ada@Acme.Example', '--role', 'admin', '--name', 'Ada Admin', '--password-stdin'],
      env.env,
      `${PASSWORD}\r\nsecond line is not the password\n`,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('user Ada@Acme.Example added to user-corp');
    expect(result.stdout).toMatch(/roles\s+admin/);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    const row = await userRow(acme, 'ada@acme.example');
    expect(row).toMatchObject({ is_active: true, full_name: 'Ada Admin', roles: ['admin'] });
    expect(row?.password_hash).not.toContain(PASSWORD);
    expect(await verifies(row?.password_hash as string, PASSWORD)).toBe(true);
  });

  it('adds a clerk by tenant id with --json, creating the clerk role and its permissions', async () => {
    const before = await inTenantDb(acme, (c) => c.query("SELECT 1 FROM roles WHERE code = 'clerk'"));
    expect(before.rowCount).toBe(0);
    const result = await runCli(
      ['user', 'add', acme.id, '--email', 'clerk@acme.example', '--role', 'clerk', '--password-stdin', '--json'],
      env.env,
      `${PASSWORD}-2\n`,
    );
    expect(result.code, result.stderr).toBe(0);
    const body = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(body).toMatchObject({ tenantId: acme.id, slug: 'user-corp', email: 'clerk@acme.example', fullName: null, roles: ['clerk'] });
    expect([...(body.permissions as string[])].sort()).toEqual([...STANDARD_ROLES.clerk.permissions].sort());
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    const granted = await inTenantDb(acme, async (c) => {
      const { rows } = await c.query<{ code: string }>(
        `SELECT p.code FROM roles r JOIN role_permissions rp ON rp.role_id = r.id JOIN permissions p ON p.id = rp.permission_id
         WHERE r.code = 'clerk' ORDER BY p.code`,
      );
      return rows.map((r) => r.code);
    });
    expect(granted).toEqual([...STANDARD_ROLES.clerk.permissions].sort());
  });

  it('gives the least-privileged role, viewer, when --role is not given', async () => {
    const result = await runCli(['user', 'add', 'user-corp', '--email', 'vic@acme.example', '--password-stdin'], env.env, `${PASSWORD}-3`);
    expect(result.code, result.stderr).toBe(0);
    expect((await userRow(acme, 'vic@acme.example'))?.roles).toEqual(['viewer']);
  });

  it('refuses an e-mail already taken, whatever its case, with exit 4 and one error line', async () => {
    const result = await runCli(['user', 'add', 'user-corp', '--email', 'ADA@acme.example', '--password-stdin'], env.env, `${PASSWORD}\n`);
    expect(result.code).toBe(4);
    expect(errorLines(result.stderr)).toHaveLength(1);
    expect(result.stderr).not.toContain(PASSWORD);
  });

  it('lists the users as JSON and as a table, and keeps each tenant to its own users', async () => {
    const users = await listed('user-corp');
    expect(users.map((u) => u.email.toLowerCase()).sort()).toEqual(['ada@acme.example', 'clerk@acme.example', 'vic@acme.example']);
    const ada = users.find((u) => u.email === 'Ada@Acme.Example');
    expect(ada).toMatchObject({ fullName: 'Ada Admin', roles: ['admin'], isActive: true, lastLoginAt: null });
    expect(Number.isNaN(Date.parse(ada?.createdAt ?? ''))).toBe(false);
    expect(JSON.stringify(users)).not.toMatch(/password|scrypt/i);

    const plain = await runCli(['user', 'list', 'user-corp'], env.env);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/Ada@Acme\.Example\s+Ada Admin\s+admin\s+active\s+never/);
    expect(plain.stdout).toContain('3 users');

    expect(await listed('other-corp')).toEqual([]);
    const empty = await runCli(['user', 'list', other.slug], env.env);
    expect(empty.stdout).toContain('No users in other-corp yet');
  });

  it('disables a user: inactive, and every refresh token of theirs revoked; enable lets them in again', async () => {
    const clerk = await userRow(acme, 'clerk@acme.example');
    await inTenantDb(acme, (c) =>
      c.query(
        `INSERT INTO refresh_tokens (user_id, token_hash, expires_at) VALUES
           ($1, md5('a'), now() + interval '1 day'), ($1, md5('b'), now() + interval '1 day')`,
        [clerk?.id],
      ),
    );
    const disabled = await runCli(['user', 'disable', 'user-corp', 'CLERK@acme.example'], env.env);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout).toContain('user clerk@acme.example of user-corp disabled');
    expect((await userRow(acme, 'clerk@acme.example'))?.is_active).toBe(false);
    const live = await inTenantDb(acme, (c) => c.query('SELECT 1 FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL', [clerk?.id]));
    expect(live.rowCount).toBe(0);
    expect((await listed('user-corp')).find((u) => u.email === 'clerk@acme.example')?.isActive).toBe(false);
    const plain = await runCli(['user', 'list', 'user-corp'], env.env);
    expect(plain.stdout).toMatch(/clerk@acme\.example\s+-\s+clerk\s+disabled/);
    expect(plain.stdout).toContain('3 users (1 disabled)');

    const enabled = await runCli(['user', 'enable', 'user-corp', 'clerk@acme.example', '--json'], env.env);
    expect(enabled.code, enabled.stderr).toBe(0);
    expect(JSON.parse(enabled.stdout)).toMatchObject({ email: 'clerk@acme.example', isActive: true, roles: ['clerk'] });
    expect((await userRow(acme, 'clerk@acme.example'))?.is_active).toBe(true);
  });
});

describe('tenant user on an isolated tenant', () => {
  it("logs in with the tenant's own login role (its sealed password) and adds and lists users", async () => {
    const created = await runCli(['create', '--slug', 'own-login-corp', '--name', 'Own Login', '--json'], env.isolatedEnv);
    expect(created.code, created.stderr).toBe(0);
    const added = await runCli(
      ['user', 'add', 'own-login-corp', '--email', 'iso@acme.example', '--role', 'viewer', '--password-stdin'],
      env.isolatedEnv,
      `${PASSWORD}\n`,
    );
    expect(added.code, added.stderr).toBe(0);
    const list = await runCli(['user', 'list', 'own-login-corp', '--json'], env.isolatedEnv);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ email: 'iso@acme.example', roles: ['viewer'], isActive: true })]);
  });
});

describe('tenant user refusals', () => {
  it('refuses a suspended tenant with exit 4 (its pool is not served), and serves it again once activated', async () => {
    await createTenant('paused-corp');
    expect((await runCli(['suspend', 'paused-corp', '--yes'], env.env)).code).toBe(0);
    const refused = await runCli(['user', 'add', 'paused-corp', '--email', 'p@acme.example', '--password-stdin'], env.env, `${PASSWORD}\n`);
    expect(refused.code).toBe(4);
    expect(errorLines(refused.stderr)).toEqual(['error: tenant "paused-corp" is suspended']);
    expect((await runCli(['activate', 'paused-corp'], env.env)).code).toBe(0);
    expect(await listed('paused-corp')).toEqual([]);
  });

  it('without a terminal and without --password-stdin: exit 2, one line, before any database is touched', async () => {
    // An unknown tenant would be exit 3: the usage error comes first.
    const result = await runCli(['user', 'add', 'no-such-tenant', '--email', 'x@acme.example'], env.env);
    expect(result.code).toBe(2);
    expect(errorLines(result.stderr)).toEqual(['error: no terminal to ask for the password: pipe it in with --password-stdin']);
  });

  it.each([
    ['a short password', ['--email', 'short@acme.example'], 'short\n', /the password must/],
    ['an empty first line', ['--email', 'empty@acme.example'], '\nlater\n', /stdin held no password/],
    ['nothing on stdin', ['--email', 'none@acme.example'], '', /stdin held no password/],
    ['a bad e-mail', ['--email', 'not-an-email'], `${PASSWORD}\n`, /--email /],
    ['an unknown role', ['--email', 'r@acme.example', '--role', 'root'], `${PASSWORD}\n`, /argument 'root' is invalid/],
    ['a missing --email', [], `${PASSWORD}\n`, /--email <address>' not specified/],
  ])('refuses %s with exit 2 and adds nobody', async (_label, args, input, message) => {
    const result = await runCli(['user', 'add', 'other-corp', ...args, '--password-stdin'], env.env, input);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    if (input.trim()) expect(result.stderr).not.toContain(input.trim());
    expect(await listed('other-corp')).toEqual([]);
  });

  it('answers an unknown tenant with exit 3 and an unknown user with exit 3', async () => {
    const tenant = await runCli(['user', 'list', 'nobody-here'], env.env);
    expect(tenant.code).toBe(3);
    expect(tenant.stderr).toContain('tenant "nobody-here" not found');
    const user = await runCli(['user', 'disable', 'other-corp', 'ghost@acme.example'], env.env);
    expect(user.code).toBe(3);
    expect(errorLines(user.stderr)).toHaveLength(1);
  });
});

/**
 * Waits until `text` is drawn after the `n`th `marker`. A prompt redraws its
 * line on every key, so "the prompt is there" means: after the line that
 * ended the previous one. waitFor answers at once when the marker is there already.
 */
function drawnAfter(session: PtySession, marker: string, n: number, text: string): Promise<void> {
  return eventually(
    `"${text}" is drawn after "${marker}" #${n}`,
    async () => {
      const parts = (await session.waitFor(marker)).split(marker);
      return parts.length - 1 >= n && (parts.at(-1) ?? '').includes(text);
    },
    30_000,
  );
}

describe.skipIf(!HAS_PTY)('tenant user add on a terminal', () => {
  it('asks for the password twice, hidden, re-asks when they differ, and never shows it', async () => {
    const session = tenantInPty(['user', 'add', 'other-corp', '--email', 'typed@acme.example', '--role', 'clerk'], env.env);
    await session.waitFor('Password for the new user');
    session.type('first-password-1\r');
    await session.waitFor('Repeat the password');
    session.type('not-the-same-one\r');
    // Typed only once each prompt is drawn: between prompts the terminal would echo (or drop) it.
    await drawnAfter(session, 'the passwords do not match', 1, 'Password for the new user');
    session.type('typed-password-2\r');
    await drawnAfter(session, '✔ Password for the new user', 2, 'Repeat the password');
    session.type('typed-password-2\r');
    const { code, output } = await session.done;
    expect(code, output).toBe(0);
    expect(output).toContain('user typed@acme.example added to other-corp');
    for (const typed of ['first-password-1', 'not-the-same-one', 'typed-password-2']) expect(output).not.toContain(typed);
    const row = await userRow(other, 'typed@acme.example');
    expect(await verifies(row?.password_hash as string, 'typed-password-2')).toBe(true);
  });
});
