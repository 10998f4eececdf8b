/**
 * The one way identifiers reach SQL: never concatenated raw. Names we
 * generate are validated against a strict pattern, then quoted (`ident`);
 * role names from configuration are checked, then quoted (`roleIdent`);
 * names we only pass through (a channel, the operator's meta database) are
 * quoted (`quoteIdent`). Nothing else calls pg's escapeIdentifier.
 */
import { InvalidIdentifierError } from '../errors.js';
import { isRoleName } from '../validators.js';

const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const MAX_IDENTIFIER_BYTES = 63;

/** Validates a database/table/role name we generate or accept, and returns it. */
export function assertIdentifier(name: string, what = 'identifier'): string {
  if (!SAFE_IDENTIFIER.test(name)) {
    throw new InvalidIdentifierError(`${what} "${name}" may only contain lower-case letters, digits and underscores`);
  }
  if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
    throw new InvalidIdentifierError(`${what} "${name}" is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  return name;
}

/** Double-quotes an identifier (same rules as pg's escapeIdentifier). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Validates, then quotes: the only way a generated identifier reaches SQL. */
export function ident(name: string, what?: string): string {
  return quoteIdent(assertIdentifier(name, what));
}

/** Role names come from configuration and may contain upper case or `-`; they are quoted, never validated away. */
export function roleIdent(name: string): string {
  if (!isRoleName(name)) {
    throw new InvalidIdentifierError(`role name "${name}" is not valid`);
  }
  return quoteIdent(name);
}

/** Stable 63-bit advisory lock key for a text label. */
export function advisoryKey(label: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return ((BigInt(h1 & 0x7fffffff) << 32n) | BigInt(h2)).toString();
}
