/**
 * The `application_name` a connection reports, so `pg_stat_activity` shows
 * who it is: `metapus:<component>:<scope>` (scope: a tenant slug, or `meta`).
 * PostgreSQL keeps at most 63 bytes (NAMEDATALEN - 1) and would cut a
 * multi-byte character in half; we cut at a character boundary instead.
 */
const MAX_BYTES = 63;

export function applicationName(component: string, scope: string): string {
  const name = `metapus:${component}:${scope}`;
  if (Buffer.byteLength(name) <= MAX_BYTES) return name;
  let out = '';
  for (const char of name) {
    if (Buffer.byteLength(out + char) > MAX_BYTES) break;
    out += char;
  }
  return out;
}
