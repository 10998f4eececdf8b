/**
 * How a secret key is written down: 32 bytes in base64 (or base64url). Kept
 * with the base modules because configuration checks it before anything runs.
 * A key is a secret: problems are told without echoing it.
 */
export const SECRET_KEY_BYTES = 32;

/** Why a text is not a key, or undefined when it is one. */
export function secretKeyProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return 'must be base64 (e.g. from `tenant secrets new-key`)';
  const bytes = decodeSecretKeyText(trimmed);
  return bytes.length === SECRET_KEY_BYTES ? undefined : `must be ${SECRET_KEY_BYTES} bytes in base64, got ${bytes.length} bytes`;
}

export function decodeSecretKeyText(text: string): Buffer {
  const trimmed = text.trim();
  return Buffer.from(trimmed, /[-_]/.test(trimmed) ? 'base64url' : 'base64');
}
