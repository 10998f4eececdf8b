/**
 * Optimistic concurrency on every route that changes a row: the version the
 * client read comes as `version` in the body or as `If-Match: "<n>"` (also
 * `n` and `W/"n"`); both may be sent if they agree. One rule for catalogs and
 * documents.
 */
import type http from 'node:http';
import { ValidationError } from '../errors.js';
import { VERSION_RULE } from '../erp/input/field-rule.js';

const IF_MATCH_VERSION = /^(?:W\/)?"?(\d{1,10})"?$/;

/** The version the client read: `version` in the body or `If-Match: "<n>"` (they must agree when both are sent). */
export function expectedVersion(bodyVersion: number | undefined, ifMatch: string | undefined, required: boolean): number | undefined {
  let headerVersion: number | undefined;
  if (ifMatch !== undefined) {
    const digits = IF_MATCH_VERSION.exec(ifMatch.trim())?.[1];
    const value = digits === undefined ? NaN : Number(digits);
    if (!(value >= VERSION_RULE.min && value <= VERSION_RULE.max)) {
      throw new ValidationError({ 'If-Match': 'must be the row version, e.g. "3"' }, 'the If-Match header is invalid');
    }
    headerVersion = value;
  }
  if (bodyVersion !== undefined && headerVersion !== undefined && bodyVersion !== headerVersion) {
    throw new ValidationError({ version: `is ${bodyVersion} but If-Match says ${headerVersion}` }, 'the version is ambiguous');
  }
  const version = bodyVersion ?? headerVersion;
  if (version === undefined && required) {
    throw new ValidationError(
      { version: 'required: send the version you read, in the body or as If-Match: "<version>"' },
      'the version is missing',
    );
  }
  return version;
}

/** The If-Match header as one string (undefined when absent). */
export function ifMatchOf(req: http.IncomingMessage): string | undefined {
  const header = req.headers['if-match'];
  return Array.isArray(header) ? header.join(',') : header;
}
