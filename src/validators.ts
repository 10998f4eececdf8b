/**
 * The rules for server addresses and role names that people type (flags,
 * environment, API input). Each rule is stated once here; parsers and
 * validators in config, the CLI and the provisioner call it, so a value
 * accepted in one place is accepted everywhere.
 */
import type { IntegerRange } from './integer-range.js';
import { hasControlCharacters } from './control-characters.js';

/** A port to connect to. */
export const PORT_RANGE: IntegerRange = { min: 1, max: 65535 };

/** A port to listen on: 0 asks the system for any free port. */
export const LISTEN_PORT_RANGE: IntegerRange = { min: 0, max: 65535 };

export function isPort(value: number, range: IntegerRange = PORT_RANGE): boolean {
  return Number.isInteger(value) && value >= range.min && value <= range.max;
}

/**
 * A server address for databases: a host name or IP address, or the
 * absolute path of a Unix-socket folder (short enough for the socket file
 * name `.s.PGSQL.<port>` to fit the 107-byte limit). Never a URL, never
 * anything a terminal would act on.
 */
export function isServerHost(host: string): boolean {
  if (hasControlCharacters(host)) return false;
  if (host.startsWith('/')) return host.length <= 90 && /^\/[A-Za-z0-9._/-]*$/.test(host);
  return host.length > 0 && host.length <= 255 && !/[\s/@]/.test(host);
}

/** PostgreSQL role names we accept from configuration: may hold upper case or `-` (they are quoted), at most 63 bytes. */
const ROLE_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

export function isRoleName(name: string): boolean {
  return ROLE_NAME.test(name);
}
