/**
 * The fields of the auth API's bodies, once: the routes read bodies with
 * them (through InputReader) and write their JSON Schemas from them, and
 * user administration applies the same email and password rules.
 */
import type { InputReader } from '../input/input-reader.js';

export const EMAIL_MAX = 254;
/** A new password's length; logins accept any length up to the maximum (older rules may have allowed less). */
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 1024;
export const FULL_NAME_MAX = 200;
/** Something before and after one @, no spaces: the users table's CHECK (email LIKE '_%@_%'), a little stricter. */
export const EMAIL_PATTERN = { regex: /^[^\s@]+@[^\s@]+$/, hint: 'must be an email address (name@domain)' };
/** Refresh tokens are 43 characters; a little room, so a wrong token is a 401 and not a 400. */
export const REFRESH_TOKEN_MAX = 256;

export type AuthField =
  | { kind: 'text'; max: number; required?: boolean; description: string }
  | { kind: 'secret'; min: number; max: number; required?: boolean; description: string }
  | { kind: 'boolean'; required?: boolean; description: string };

export type AuthBody = Record<string, AuthField>;

export const LOGIN_BODY = {
  email: { kind: 'text', max: EMAIL_MAX, required: true, description: 'The user’s email (case-insensitive)' },
  password: { kind: 'secret', min: 1, max: PASSWORD_MAX, required: true, description: 'The user’s password' },
} as const satisfies AuthBody;

export const REFRESH_BODY = {
  refreshToken: { kind: 'secret', min: 1, max: REFRESH_TOKEN_MAX, required: true, description: 'The refresh token of the last pair' },
} as const satisfies AuthBody;

export const LOGOUT_BODY = {
  refreshToken: { kind: 'secret', min: 1, max: REFRESH_TOKEN_MAX, description: 'The refresh token to revoke (required unless all)' },
  all: { kind: 'boolean', description: 'Revoke every refresh token of the user' },
} as const satisfies AuthBody;

/**
 * A secret as typed: a string, never trimmed, its length counted in
 * characters. (InputReader.text trims, which is right for names and wrong
 * for passwords.)
 */
export function readSecret(
  reader: InputReader,
  name: string,
  rule: { min: number; max: number; required?: boolean | undefined },
): string | undefined {
  const value = reader.raw(name);
  if (value === undefined && !rule.required) return undefined;
  const length = typeof value === 'string' ? [...value].length : -1;
  if (length < rule.min || length > rule.max) {
    reader.fail(name, value === undefined ? 'required' : `must be a string of ${rule.min}-${rule.max} characters`);
    return undefined;
  }
  return value as string;
}

type Values<B extends AuthBody> = { [K in keyof B]: B[K] extends { kind: 'boolean' } ? boolean | undefined : string | undefined };

/** Reads a body by its table (unknown fields refused); throws one ValidationError naming every bad field. */
export function readAuthBody<B extends AuthBody>(reader: InputReader, body: B, message: string): Values<B> {
  const values: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(body)) {
    const required = field.required === true;
    if (field.kind === 'text') values[name] = reader.text(name, { max: field.max, required }) ?? undefined;
    else if (field.kind === 'secret') values[name] = readSecret(reader, name, { min: field.min, max: field.max, required });
    else values[name] = reader.boolean(name, { required }) ?? undefined;
  }
  reader.rejectUnknown().finish(message);
  return values as Values<B>;
}

/** The JSON Schema of a body table (for the OpenAPI document). */
export function authBodySchema(body: AuthBody): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(body)) {
    properties[name] =
      field.kind === 'boolean'
        ? { type: 'boolean', description: field.description }
        : {
            type: 'string',
            minLength: field.kind === 'secret' ? field.min : 1,
            maxLength: field.max,
            description: field.description,
            ...(field.kind === 'secret' ? { writeOnly: true } : {}),
          };
  }
  const required = Object.entries(body)
    .filter(([, field]) => field.required)
    .map(([name]) => name);
  return { type: 'object', additionalProperties: false, properties, ...(required.length > 0 ? { required } : {}) };
}
