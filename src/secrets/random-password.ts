/** Passwords for tenant login roles: 32 random bytes, base64url (43 characters, no quoting issues anywhere). */
import crypto from 'node:crypto';

export const PASSWORD_BYTES = 32;

export function randomPassword(): string {
  return crypto.randomBytes(PASSWORD_BYTES).toString('base64url');
}
