/**
 * Refresh tokens: 32 random bytes (base64url) handed to the client once;
 * the table keeps only their sha256, so a copy of it cannot be replayed.
 * Rotation revokes the presented token and stores the next one in the same
 * transaction; a token presented again after its revocation means someone
 * else holds a copy, so every token of that user is revoked.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { getTxManager } from '../../context/tenant-context.js';
import type { ClientInfo } from './api-auth.js';

const TOKEN_BYTES = 32;
/** 32 bytes in base64url, unpadded. */
const TOKEN_TEXT = /^[A-Za-z0-9_-]{43}$/;
const USER_AGENT_MAX = 512;

export function newRefreshToken(): string {
  return crypto.randomBytes(TOKEN_BYTES).toString('base64url');
}

/** The stored form; undefined for text that cannot be one of our tokens (no query is spent on it). */
export function refreshTokenHash(token: string): string | undefined {
  return TOKEN_TEXT.test(token) ? crypto.createHash('sha256').update(token).digest('hex') : undefined;
}

/** Stores a new token for the user (inside the caller's transaction, when there is one). */
export async function storeRefreshToken(userId: string, ttlSeconds: number, client: ClientInfo): Promise<string> {
  const token = newRefreshToken();
  const userAgent = client.userAgent ? [...client.userAgent].slice(0, USER_AGENT_MAX).join('') : null;
  // Only a well-formed address goes into the inet column (it comes from the socket, but never trust a shape).
  const ip = client.ip && net.isIP(client.ip) !== 0 ? client.ip : null;
  await getTxManager().query(
    `INSERT INTO refresh_tokens (user_id, token_hash, expires_at, user_agent, ip)
     VALUES ($1, $2, now() + make_interval(secs => $3), $4, $5)`,
    [userId, refreshTokenHash(token), ttlSeconds, userAgent, ip],
  );
  return token;
}

export type Redemption = { kind: 'ok'; userId: string } | { kind: 'reused'; userId: string } | { kind: 'unknown' };

/**
 * Revokes a live token and names its user; a token already revoked is
 * reported as reused (its user's other tokens are revoked here too); an
 * unknown or expired one is unknown. Call inside a transaction.
 */
export async function redeemRefreshToken(hash: string): Promise<Redemption> {
  const tx = getTxManager();
  const live = await tx.query<{ user_id: string }>(
    `UPDATE refresh_tokens SET revoked_at = now()
      WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
      RETURNING user_id`,
    [hash],
  );
  if (live.rows[0]) return { kind: 'ok', userId: live.rows[0].user_id };
  const known = await tx.query<{ user_id: string; revoked: boolean }>(
    'SELECT user_id, revoked_at IS NOT NULL AS revoked FROM refresh_tokens WHERE token_hash = $1',
    [hash],
  );
  const row = known.rows[0];
  if (!row?.revoked) return { kind: 'unknown' };
  await revokeAllRefreshTokens(row.user_id);
  return { kind: 'reused', userId: row.user_id };
}

export async function revokeAllRefreshTokens(userId: string): Promise<number> {
  const { rowCount } = await getTxManager().query('UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [
    userId,
  ]);
  return rowCount ?? 0;
}

/** Revokes one token of the user's (already revoked is fine); false when the user has no such token. */
export async function revokeRefreshToken(userId: string, hash: string): Promise<boolean> {
  const { rowCount } = await getTxManager().query(
    'UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE token_hash = $1 AND user_id = $2',
    [hash, userId],
  );
  return (rowCount ?? 0) > 0;
}
