import type pg from 'pg';

/**
 * Drops every database whose name starts with prefix, then every role with
 * that prefix (roles are cluster-wide: tenant owner/app roles and the
 * template owner outlive a test's databases otherwise). Test and bench cleanup.
 */
export async function dropDatabasesWithPrefix(client: pg.ClientBase, prefix: string): Promise<void> {
  const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]);
  for (const { datname } of rows) {
    await client.query(`ALTER DATABASE ${client.escapeIdentifier(datname)} WITH IS_TEMPLATE false`);
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(datname)} WITH (FORCE)`);
  }
  await dropRolesWithPrefix(client, prefix);
}

/** Drops every role whose name starts with prefix (what they still own or were granted in other databases first). */
export async function dropRolesWithPrefix(client: pg.ClientBase, prefix: string): Promise<void> {
  const { rows } = await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)', [prefix]);
  for (const { rolname } of rows) {
    // DROP OWNED acts on the current database only; the prefix's databases are gone, so this clears the rest here.
    await client.query(`DROP OWNED BY ${client.escapeIdentifier(rolname)}`).catch(() => undefined);
    await client.query(`DROP ROLE IF EXISTS ${client.escapeIdentifier(rolname)}`);
  }
}
