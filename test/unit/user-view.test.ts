/**
 * What `tenant user` prints: the block after `add`, the users table (plain
 * and bordered), the count line, the disable/enable line, the JSON shapes,
 * and stored text with control characters shown escaped. Also the first-line
 * reader behind `--password-stdin`.
 */
import { PassThrough } from 'node:stream';
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { passwordFromStdin, readFirstLine } from '../../src/cli/password-input.js';
import {
  addedUserText,
  userChangeJson,
  userChangeText,
  userCountText,
  userJson,
  userListJson,
  userTable,
  type UserDetails,
  type UserListRow,
} from '../../src/cli/user-view.js';

const c = new Chalk({ level: 0 });
const tenant = { id: '6f1c1f0e-8d2a-4a59-9f3e-2b1f0c9d8e7a', slug: 'acme' };

const ada: UserDetails = {
  id: '0b7c2f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
  email: 'ada@acme.example',
  fullName: 'Ada Admin',
  roles: ['admin'],
  permissions: ['admin', 'catalogs.read'],
};

const rows: UserListRow[] = [
  {
    id: ada.id,
    email: ada.email,
    fullName: 'Ada Admin',
    roles: ['admin'],
    isActive: true,
    lastLoginAt: new Date('2026-11-20T10:00:00Z'),
    createdAt: new Date('2026-11-01T09:00:00Z'),
  },
  {
    id: '1c8d3a5f-2b3c-4d4e-9f0a-1b2c3d4e5f60',
    email: 'clerk@acme.example',
    fullName: null,
    roles: [],
    isActive: false,
    lastLoginAt: null,
    // As text, the way a JSON-minded implementation may hand it over.
    createdAt: '2026-11-02T09:00:00.000Z',
  },
];

describe('user view', () => {
  it('prints the added user with its roles and permissions, and the same as JSON with the tenant', () => {
    const text = addedUserText(c, tenant, ada);
    expect(text.split('\n')[0]).toBe('✔ user ada@acme.example added to acme');
    expect(text).toMatch(/roles\s+admin$/m);
    expect(text).toMatch(/permissions\s+admin, catalogs\.read$/m);
    expect(text).toMatch(/name\s+Ada Admin$/m);
    expect(addedUserText(c, tenant, { ...ada, fullName: null, roles: [] })).toMatch(/name\s+-\n[\s\S]*roles\s+-$/m);
    expect(userJson(tenant, ada)).toEqual({
      tenantId: tenant.id,
      slug: 'acme',
      id: ada.id,
      email: 'ada@acme.example',
      fullName: 'Ada Admin',
      roles: ['admin'],
      permissions: ['admin', 'catalogs.read'],
    });
  });

  it('lists users in plain columns with status, last login (or never) and ISO times; JSON has ISO text or null', () => {
    const lines = userTable(c, rows, true).split('\n');
    expect(lines[0]).toMatch(/^\s*email\s+name\s+roles\s+status\s+last login\s+created\s+id\s*$/);
    expect(lines[1]).toMatch(/ada@acme\.example\s+Ada Admin\s+admin\s+active\s+2026-11-20T10:00:00\.000Z\s+2026-11-01T09:00:00\.000Z/);
    expect(lines[2]).toMatch(/clerk@acme\.example\s+-\s+-\s+disabled\s+never\s+2026-11-02T09:00:00\.000Z/);
    expect(userTable(c, rows, false)).toContain('┌');
    expect(userListJson(rows)).toEqual([
      {
        id: ada.id,
        email: 'ada@acme.example',
        fullName: 'Ada Admin',
        roles: ['admin'],
        isActive: true,
        lastLoginAt: '2026-11-20T10:00:00.000Z',
        createdAt: '2026-11-01T09:00:00.000Z',
      },
      expect.objectContaining({ email: 'clerk@acme.example', fullName: null, isActive: false, lastLoginAt: null }),
    ]);
  });

  it('counts users and disabled ones, and says how to add the first', () => {
    expect(userCountText(tenant, rows)).toBe('2 users (1 disabled)');
    expect(userCountText(tenant, rows.slice(0, 1))).toBe('1 user');
    expect(userCountText(tenant, [])).toBe('No users in acme yet. Add one with `tenant user add acme --email <e-mail> --role admin`.');
  });

  it('says what disable and enable did', () => {
    expect(userChangeText(c, tenant, ada, 'disabled')).toBe(
      'user ada@acme.example of acme disabled: signed out everywhere (refresh tokens revoked; access tokens refused at once)',
    );
    expect(userChangeText(c, tenant, ada, 'enabled')).toBe('user ada@acme.example of acme enabled');
    expect(userChangeJson(tenant, ada, 'disabled')).toMatchObject({ email: ada.email, isActive: false });
    expect(userChangeJson(tenant, ada, 'enabled')).toMatchObject({ email: ada.email, isActive: true });
  });

  it('shows control characters in stored text escaped, never raw', () => {
    const hostile = { ...ada, email: 'evil\u001b[2J@acme.example', fullName: 'Name\u0007' };
    for (const text of [addedUserText(c, tenant, hostile), userTable(c, [{ ...rows[0]!, ...hostile }], true)]) {
      expect(text).not.toContain('\u001b');
      expect(text).not.toContain('\u0007');
      expect(text).toContain('evil\\x1b[2J@acme.example');
    }
  });
});

describe('password from stdin', () => {
  function stream(...chunks: string[]): PassThrough {
    const s = new PassThrough();
    for (const chunk of chunks) s.write(chunk);
    return s;
  }

  it('reads the first line only, without \\n or \\r\\n, across chunks, without waiting for end-of-file', async () => {
    // Not ended: a terminal (or a slow writer) need not close stdin once the line is there.
    await expect(readFirstLine(stream('pass', 'word one\r\nsecond\n'))).resolves.toBe('password one');
    await expect(readFirstLine(stream('only line\n'))).resolves.toBe('only line');
    await expect(readFirstLine(stream('pässwörd ✓\n'))).resolves.toBe('pässwörd ✓');
  });

  it('takes everything up to end-of-file when there is no newline', async () => {
    const s = stream('no newline at all');
    s.end();
    await expect(readFirstLine(s)).resolves.toBe('no newline at all');
  });

  it('refuses an empty first line, an empty stdin and an endless line', async () => {
    await expect(passwordFromStdin(stream('\nsecond\n'))).rejects.toThrow('stdin held no password');
    const empty = stream();
    empty.end();
    await expect(passwordFromStdin(empty)).rejects.toMatchObject({ code: 'USAGE' });
    await expect(readFirstLine(stream('x'.repeat(100)), 50)).rejects.toThrow('too long');
  });
});
