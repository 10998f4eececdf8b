/**
 * Which database server an address names. `localhost`, `127.0.0.1` and `::1`
 * reach the same local server, and host names are case-insensitive, so two
 * spellings of one server compare equal here and nowhere else. Socket
 * folders are paths: kept exactly as written.
 */

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

/** The canonical spelling of a host: loopback as `127.0.0.1`, names lower-case, `[::1]` without brackets. */
export function canonicalHost(host: string): string {
  if (host.startsWith('/')) return host;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const lower = bare.toLowerCase();
  return LOOPBACK_NAMES.has(lower) ? '127.0.0.1' : lower;
}

/** Whether the host is this machine's loopback interface (not a socket folder). */
export function isLoopbackHost(host: string): boolean {
  return canonicalHost(host) === '127.0.0.1';
}

/** `host:port` naming one server: equal keys mean the same server. */
export function serverKey(host: string, port: number): string {
  return `${canonicalHost(host)}:${port}`;
}
