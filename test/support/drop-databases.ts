import type pg from 'pg';

/** Drops every database whose name starts with prefix (test and bench cleanup). */
export async function dropDatabasesWithPrefix(client: pg.ClientBase, prefix: string): Promise<void> {
  const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]);
  for (const { datname } of rows) {
    await client.query(`ALTER DATABASE ${client.escapeIdentifier(datname)} WITH IS_TEMPLATE false`);
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(datname)} WITH (FORCE)`);
  }
}
