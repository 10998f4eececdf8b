/**
 * What decides that the template is current: the migration files it was
 * built from AND what is really in it. After a build, a fingerprint of the
 * database's catalog and data is stored in the template's comment with the
 * files' fingerprint; each clone is fingerprinted again right after it is
 * made (before it is re-owned), so an object or a row planted in the template
 * since the build (by anyone who could connect to it) is caught and no
 * tenant inherits it.
 *
 * Covered: schemas, relations (kind, persistence, row security), columns
 * with types, defaults and identity, constraints, index definitions,
 * routines (identity arguments, a hash of the source, security definer,
 * settings: every routine in the database, so a replaced built-in counts),
 * types and enum labels, triggers, policies, rules, extensions with their
 * version, event triggers, default ACLs, casts, languages, operators and
 * other user catalog entries, sequence states, large objects, owners and
 * ACLs, and an ordered hash of the rows of each ordinary table. The
 * fingerprint is only ever compared between the template and its own byte
 * copy, so owners and ACLs are the same in both unless someone changed them.
 */
import crypto from 'node:crypto';
import type pg from 'pg';
import { quoteIdent } from '../pg/identifiers.js';
import { withTransaction } from '../pg/with-helpers.js';

/** The first OID PostgreSQL hands out after initdb: objects at or above it were made by someone. */
const FIRST_NORMAL_OID = 16384;

const USER_NAMESPACE = `(n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') OR n.oid >= ${FIRST_NORMAL_OID})`;

/** sha256 in SQL (md5() is refused by servers in FIPS mode). */
function sha256(textExpr: string): string {
  return `encode(sha256(convert_to(${textExpr}, 'UTF8')), 'hex')`;
}

/** Each part: a query whose rows (one text column `r`) are hashed in order. */
const PARTS: Record<string, string> = {
  schemas: `SELECT format('%s|%s|%s', n.nspname, pg_get_userbyid(n.nspowner), n.nspacl) AS r
            FROM pg_namespace n WHERE n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
            AND ${USER_NAMESPACE}`,
  relations: `SELECT format('%s.%s|%s|%s|%s|%s|%s|%s', n.nspname, c.relname, c.relkind, c.relpersistence, c.relrowsecurity,
                c.relforcerowsecurity, pg_get_userbyid(c.relowner), c.relacl) AS r
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_NAMESPACE} OR c.oid >= ${FIRST_NORMAL_OID}`,
  columns: `SELECT format('%s.%s.%s|%s|%s|%s|%s|%s|%s', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
              a.attnotnull, a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid), a.attacl) AS r
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attnum > 0 AND NOT a.attisdropped AND (${USER_NAMESPACE} OR c.oid >= ${FIRST_NORMAL_OID})`,
  constraints: `SELECT format('%s|%s|%s|%s|%s', n.nspname, co.conname, co.conrelid::regclass, co.contypid::regtype,
                  pg_get_constraintdef(co.oid)) AS r
                FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace WHERE ${USER_NAMESPACE} OR co.oid >= ${FIRST_NORMAL_OID}`,
  indexes: `SELECT pg_get_indexdef(i.indexrelid) AS r FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_NAMESPACE} OR c.oid >= ${FIRST_NORMAL_OID}`,
  routines: `SELECT format('%s.%s(%s)|%s|%s|%s|%s|%s|%s|%s|%s|%s', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
               p.prokind, p.prorettype::regtype, p.prolang, ${sha256(`coalesce(p.prosrc, '') || '|' || coalesce(p.probin, '')`)},
               p.prosecdef, p.provolatile, p.proconfig, pg_get_userbyid(p.proowner), p.proacl) AS r
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace`,
  types: `SELECT format('%s.%s|%s|%s|%s|%s', n.nspname, t.typname, t.typtype, t.typbasetype::regtype, pg_get_userbyid(t.typowner),
            (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)) AS r
          FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${USER_NAMESPACE} OR t.oid >= ${FIRST_NORMAL_OID}`,
  triggers: `SELECT format('%s|%s|%s', t.tgenabled, t.tgrelid::regclass, pg_get_triggerdef(t.oid)) AS r
             FROM pg_trigger t WHERE NOT t.tgisinternal`,
  policies: `SELECT format('%s|%s|%s|%s|%s|%s', p.polname, p.polrelid::regclass, p.polcmd, p.polpermissive,
               pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)) AS r FROM pg_policy p`,
  rules: `SELECT format('%s|%s', r.ev_class::regclass, pg_get_ruledef(r.oid)) AS r FROM pg_rewrite r
          WHERE r.oid >= ${FIRST_NORMAL_OID} AND r.rulename <> '_RETURN'`,
  views: `SELECT format('%s|%s', c.oid::regclass, pg_get_viewdef(c.oid)) AS r FROM pg_class c
          WHERE c.relkind IN ('v', 'm') AND c.oid >= ${FIRST_NORMAL_OID}`,
  extensions: `SELECT format('%s|%s|%s|%s', e.extname, e.extversion, e.extnamespace::regnamespace, pg_get_userbyid(e.extowner)) AS r
               FROM pg_extension e`,
  eventTriggers: `SELECT format('%s|%s|%s|%s|%s', e.evtname, e.evtevent, e.evtfoid::regproc, e.evtenabled, e.evttags) AS r
                  FROM pg_event_trigger e`,
  defaultAcls: `SELECT format('%s|%s|%s|%s', pg_get_userbyid(d.defaclrole), d.defaclnamespace, d.defaclobjtype, d.defaclacl) AS r
                FROM pg_default_acl d`,
  casts: `SELECT format('%s|%s|%s|%s|%s', c.castsource::regtype, c.casttarget::regtype, c.castfunc, c.castcontext, c.castmethod) AS r
          FROM pg_cast c WHERE c.oid >= ${FIRST_NORMAL_OID}`,
  languages: `SELECT format('%s|%s|%s|%s', l.lanname, l.lanpltrusted, l.lanplcallfoid, l.lanacl) AS r FROM pg_language l`,
  operators: `SELECT format('%s|%s|%s|%s', o.oprname, o.oprleft::regtype, o.oprright::regtype, o.oprcode) AS r
              FROM pg_operator o WHERE o.oid >= ${FIRST_NORMAL_OID}`,
  otherObjects: `SELECT format('%s|%s', catalog, n) AS r FROM (
                   SELECT 'pg_opclass' AS catalog, count(*) AS n FROM pg_opclass WHERE oid >= ${FIRST_NORMAL_OID}
                   UNION ALL SELECT 'pg_opfamily', count(*) FROM pg_opfamily WHERE oid >= ${FIRST_NORMAL_OID}
                   UNION ALL SELECT 'pg_am', count(*) FROM pg_am WHERE oid >= ${FIRST_NORMAL_OID}
                   UNION ALL SELECT 'pg_collation', count(*) FROM pg_collation WHERE oid >= ${FIRST_NORMAL_OID}
                   UNION ALL SELECT 'pg_conversion', count(*) FROM pg_conversion WHERE oid >= ${FIRST_NORMAL_OID}
                   UNION ALL SELECT 'pg_ts_config', count(*) FROM pg_ts_config WHERE oid >= ${FIRST_NORMAL_OID}
                   UNION ALL SELECT 'pg_ts_dict', count(*) FROM pg_ts_dict WHERE oid >= ${FIRST_NORMAL_OID}
                   UNION ALL SELECT 'pg_foreign_data_wrapper', count(*) FROM pg_foreign_data_wrapper
                   UNION ALL SELECT 'pg_foreign_server', count(*) FROM pg_foreign_server
                   UNION ALL SELECT 'pg_user_mapping', count(*) FROM pg_user_mapping
                   UNION ALL SELECT 'pg_publication', count(*) FROM pg_publication
                   UNION ALL SELECT 'pg_statistic_ext', count(*) FROM pg_statistic_ext
                   UNION ALL SELECT 'pg_transform', count(*) FROM pg_transform
                   UNION ALL SELECT 'pg_largeobject_metadata', count(*) FROM pg_largeobject_metadata
                 ) counts`,
  sequences: `SELECT format('%s.%s|%s|%s|%s|%s|%s', s.schemaname, s.sequencename, s.data_type, s.start_value, s.increment_by,
                s.last_value, s.cycle) AS r FROM pg_sequences s`,
};

/** Ordinary tables whose rows are hashed. */
async function userTables(client: pg.ClientBase): Promise<{ schema: string; table: string }[]> {
  const { rows } = await client.query<{ schema: string; table: string }>(
    `SELECT n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND ${USER_NAMESPACE} AND n.nspname NOT LIKE 'pg\\_temp\\_%' ORDER BY 1, 2`,
  );
  return rows;
}

/**
 * The catalog + data fingerprint of the database `client` is connected to
 * (read as a role that can read every table). Session settings that change
 * how values print are pinned, so two processes agree.
 */
export async function databaseObjectFingerprint(client: pg.ClientBase): Promise<string> {
  const aggregate = (expr: string) => sha256(`coalesce(string_agg(${expr}, E'\\n' ORDER BY ${expr} COLLATE "C"), '')`);
  const parts = Object.entries(PARTS).map(
    ([name, sql]) => `SELECT ${client.escapeLiteral(name)} AS part, ${aggregate('q.r')} AS h FROM (${sql}) q`,
  );
  return withTransaction(client, async () => {
    await client.query(
      "SET LOCAL search_path = pg_catalog; SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 1; SET LOCAL bytea_output = 'hex'",
    );
    for (const { schema, table } of await userTables(client)) {
      const rel = `${quoteIdent(schema)}.${quoteIdent(table)}`;
      parts.push(`SELECT ${client.escapeLiteral(`rows:${schema}.${table}`)}, ${aggregate('t::text')} FROM ${rel} t`);
    }
    const { rows } = await client.query<{ part: string; h: string }>(parts.join('\nUNION ALL\n'));
    const hash = crypto.createHash('sha256');
    for (const row of [...rows].sort((a, b) => (a.part < b.part ? -1 : a.part > b.part ? 1 : 0))) hash.update(`${row.part}=${row.h}\n`);
    return hash.digest('hex');
  });
}
