/**
 * SCRAM-SHA-256 verifiers computed here, so `ALTER ROLE ... PASSWORD` sends
 * the verifier and the plaintext never reaches the server (nor its logs,
 * pg_stat_statements or log_statement=all). PostgreSQL 10+ stores a
 * verifier in this form as it is (RFC 5802, RFC 7677; PostgreSQL's
 * `scram_build_secret`).
 */
import crypto from 'node:crypto';

/** PostgreSQL's default scram_iterations. */
export const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;

export interface ScramOptions {
  iterations?: number;
  salt?: Buffer;
}

export function scramSha256Verifier(password: string, options: ScramOptions = {}): string {
  // PostgreSQL applies SASLprep, which leaves printable ASCII unchanged; our
  // passwords are base64url. Anything else could hash differently on the server.
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error('a SCRAM verifier is only computed here for printable ASCII passwords');
  const iterations = options.iterations ?? SCRAM_ITERATIONS;
  const salt = options.salt ?? crypto.randomBytes(SALT_BYTES);
  const salted = crypto.pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = crypto.createHash('sha256').update(clientKey).digest();
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

function hmac(key: Buffer, text: string): Buffer {
  return crypto.createHmac('sha256', key).update(text).digest();
}
