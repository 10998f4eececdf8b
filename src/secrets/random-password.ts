/** TEMPORARY stand-in for the lead's src/secrets/random-password.ts (take main's version on merge). */
import crypto from 'node:crypto';

export function randomPassword(): string {
  return crypto.randomBytes(32).toString('base64url');
}
