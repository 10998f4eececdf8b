/**
 * Connection URLs, read the way pg reads them (pg-connection-string), not
 * with `new URL`: WHATWG URLs reject `postgres://u@/db?host=/var/run/postgresql`
 * and lose the socket folder of `postgres:///db?host=…`. Rewrites (another
 * database, another server, a hidden password) work on the string's parts so
 * every other parameter (sslmode, options, …) survives untouched.
 */
import { parse } from 'pg-connection-string';
import { isPort } from './validators.js';

export interface ConnectionUrl {
  user: string | undefined;
  password: string | undefined;
  /** Host name, address, or a Unix-socket folder (starts with `/`). */
  host: string;
  port: number;
  /** undefined when the URL names none (pg then uses the user name). */
  database: string | undefined;
  /** `sslmode` from the query string, as one of our modes. */
  sslMode: SslMode | undefined;
}

export class ConnectionUrlError extends Error {
  override name = 'ConnectionUrlError';
}

// scheme, authority (userinfo@host:port), path, query, fragment
const SHAPE = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i;

/** The TLS modes we serve (TENANT_DB_SSLMODE, `sslmode` in URLs). */
export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-full';
export const SSL_MODES: readonly SslMode[] = ['disable', 'prefer', 'require', 'verify-full'];

/** libpq's sslmode values mapped to ours: `allow` is served like `prefer`, `verify-ca` like `verify-full` (stricter). */
const LIBPQ_SSL_MODES: Record<string, SslMode> = {
  disable: 'disable',
  allow: 'prefer',
  prefer: 'prefer',
  require: 'require',
  'verify-ca': 'verify-full',
  'verify-full': 'verify-full',
};

interface Parts {
  scheme: string;
  authority: string;
  path: string;
  query: string;
  fragment: string;
}

function split(url: string): Parts | undefined {
  const m = SHAPE.exec(url.trim());
  if (!m) return undefined;
  return { scheme: m[1] as string, authority: m[2] as string, path: m[3] ?? '', query: m[4] ?? '', fragment: m[5] ?? '' };
}

const join = (p: Parts): string => `${p.scheme}://${p.authority}${p.path}${p.query}${p.fragment}`;

/** Parses and checks a postgres:// URL; throws ConnectionUrlError with the reason (never the URL). */
export function parseConnectionUrl(url: string): ConnectionUrl {
  const parts = split(url);
  if (!parts || !/^postgres(ql)?$/i.test(parts.scheme)) throw new ConnectionUrlError('not a postgres:// URL');
  const query = new URLSearchParams(parts.query.slice(1));
  const rawSsl = query.get('sslmode') ?? undefined;
  if (rawSsl !== undefined && !(rawSsl in LIBPQ_SSL_MODES)) throw new ConnectionUrlError(`unknown sslmode "${rawSsl}"`);
  // pg-connection-string warns (process warning) or throws on some sslmode
  // values; we only want the address and credentials, so it never sees it.
  query.delete('sslmode');
  const rest = query.toString();
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(join({ ...parts, query: rest ? `?${rest}` : '' }));
  } catch (cause) {
    throw new ConnectionUrlError('not a valid connection URL', { cause });
  }
  if (!parsed.host) throw new ConnectionUrlError('no host: name a host, or a socket folder with ?host=/var/run/postgresql');
  const port = parsed.port ? Number(parsed.port) : 5432;
  if (!isPort(port)) throw new ConnectionUrlError('bad port');
  return {
    user: parsed.user || undefined,
    password: parsed.password || undefined,
    host: parsed.host,
    port,
    database: parsed.database || undefined,
    sslMode: rawSsl === undefined ? undefined : LIBPQ_SSL_MODES[rawSsl],
  };
}

/** The reason a URL is unusable, or undefined when it is fine. */
export function connectionUrlProblem(url: string): string | undefined {
  try {
    parseConnectionUrl(url);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The same URL with another database name (query, socket folder, sslmode kept). */
export function withDatabase(url: string, database: string): string {
  const parts = split(url);
  if (!parts) throw new ConnectionUrlError('not a postgres:// URL');
  return join({ ...parts, path: `/${encodeURIComponent(database)}` });
}

/** The database a URL names (`postgres` when it names none). */
export function databaseOf(url: string): string {
  return parseConnectionUrl(url).database ?? 'postgres';
}

/** The same URL (user, password, database, parameters) pointed at another server; a host starting with `/` is a socket folder. */
export function withServer(url: string, host: string, port: number): string {
  const parts = split(url);
  if (!parts) throw new ConnectionUrlError('not a postgres:// URL');
  const at = parts.authority.lastIndexOf('@');
  const userinfo = at >= 0 ? parts.authority.slice(0, at + 1) : '';
  const query = new URLSearchParams(parts.query.slice(1));
  query.delete('host');
  query.delete('port');
  let authority: string;
  if (host.startsWith('/')) {
    authority = userinfo;
    query.set('host', host);
    query.set('port', String(port));
  } else {
    authority = `${userinfo}${host.includes(':') ? `[${host}]` : host}:${port}`;
  }
  const rest = query.toString();
  return join({ ...parts, authority, query: rest ? `?${rest}` : '' });
}

/** The URL with its password (in the user part or a `password=` parameter) replaced by `***`; undefined if it is no URL. */
export function hidePassword(url: string): string | undefined {
  const parts = split(url);
  if (!parts) return undefined;
  const at = parts.authority.lastIndexOf('@');
  let authority = parts.authority;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    if (colon >= 0) authority = `${userinfo.slice(0, colon)}:***${authority.slice(at)}`;
  }
  const query = parts.query.replace(/([?&]password=)[^&]*/gi, '$1***');
  return join({ ...parts, authority, query });
}
