/**
 * The token service behind the reference API (ApiAuth): short-lived HS256
 * access tokens bound to the tenant, and rotated refresh tokens stored as
 * hashes in the tenant's database. Every method runs in the request's
 * tenant scope; the tenant id comes from getTenant(), never from the client.
 */
import { getTenant, getTxManager } from '../../context/tenant-context.js';
import { UnauthenticatedError, ValidationError } from '../../errors.js';
import type { ApiAuth, ClientInfo, TokenPair } from './api-auth.js';
import { signAccessToken, verifyAccessToken } from './access-token.js';
import { LoginLimiter } from './login-limiter.js';
import { dummyHash, verifyPassword } from './password-hash.js';
import type { Principal } from './permissions.js';
import { redeemRefreshToken, refreshTokenHash, revokeAllRefreshTokens, revokeRefreshToken, storeRefreshToken } from './refresh-tokens.js';
import { findCredentials, findUserById, userView } from './user-queries.js';

export interface TokenAuthOptions {
  /** The HMAC key of access tokens (32 bytes; API_TOKEN_KEY). */
  key: Buffer;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  /** Failed-login limiter (default: 5 per 15 minutes per tenant and email, in this process). */
  limiter?: LoginLimiter;
  /** The clock, in milliseconds (tests). */
  now?: () => number;
}

/** One message for an unknown email, a wrong password and a disabled user: the answer tells nothing about which. */
const WRONG_CREDENTIALS = 'wrong email or password';
const INACTIVE_USER = 'the user of this token does not exist or is disabled';
const STATEMENT_TIMEOUT_MS = 5_000;
const BEARER = /^Bearer +([A-Za-z0-9._-]+) *$/i;

export function createTokenAuth(options: TokenAuthOptions): ApiAuth {
  const { key, accessTtlSeconds, refreshTtlSeconds } = options;
  const limiter = options.limiter ?? new LoginLimiter();
  const now = options.now ?? Date.now;
  // Made now, not at the first unknown email (see dummyHash); a failure shows again at that login.
  dummyHash().catch(() => undefined);

  /** A new pair for a user whose row was just read and found active (inside the caller's transaction). */
  async function issue(userId: string, client: ClientInfo): Promise<TokenPair> {
    const user = await findUserById(userId);
    // Disabled between the password check (or the token's issue) and now.
    if (!user?.is_active) throw new UnauthenticatedError(INACTIVE_USER);
    const refreshToken = await storeRefreshToken(userId, refreshTtlSeconds, client);
    return {
      tokenType: 'Bearer',
      accessToken: signAccessToken(key, { sub: userId, tid: getTenant().id }, accessTtlSeconds, now()),
      expiresIn: accessTtlSeconds,
      refreshToken,
      refreshExpiresIn: refreshTtlSeconds,
      user: userView(user),
    };
  }

  return {
    async authenticate(authorization) {
      const token = BEARER.exec(authorization ?? '')?.[1];
      if (!token) throw new UnauthenticatedError();
      const claims = verifyAccessToken(key, token, now());
      const tenant = getTenant();
      // A genuine token of another tenant is still not a token for this one.
      if (claims.tid !== tenant.id) throw new UnauthenticatedError('the access token was issued for another tenant');
      const user = await findUserById(claims.sub);
      if (!user?.is_active) throw new UnauthenticatedError(INACTIVE_USER);
      const principal: Principal = {
        userId: user.id,
        email: user.email,
        tenantId: tenant.id,
        roles: user.roles,
        permissions: new Set(user.permissions),
      };
      return principal;
    },

    async login({ email, password }, client) {
      const limitKey = LoginLimiter.key(getTenant().id, email);
      limiter.begin(limitKey);
      const found = await findCredentials(email.trim());
      // Unknown emails verify against a dummy hash: the same work, the same answer.
      const matches = await verifyPassword(password, found?.password_hash);
      if (!found || !matches || !found.is_active) throw new UnauthenticatedError(WRONG_CREDENTIALS);
      limiter.succeed(limitKey);
      return getTxManager().run(
        async () => {
          await getTxManager().query('UPDATE users SET last_login_at = now() WHERE id = $1', [found.id]);
          return issue(found.id, client);
        },
        { statementTimeoutMs: STATEMENT_TIMEOUT_MS },
      );
    },

    async refresh(refreshToken, client) {
      const hash = refreshTokenHash(refreshToken);
      if (!hash) throw new UnauthenticatedError('the refresh token is invalid; log in again');
      const outcome = await getTxManager().run(
        async () => {
          const redeemed = await redeemRefreshToken(hash);
          if (redeemed.kind !== 'ok') return redeemed;
          return {
            kind: 'issued' as const,
            pair: await issue(redeemed.userId, client),
          };
        },
        { statementTimeoutMs: STATEMENT_TIMEOUT_MS },
      );
      // Thrown after the commit: a reused token's revocations must stay.
      if (outcome.kind === 'issued') return outcome.pair;
      throw new UnauthenticatedError(
        outcome.kind === 'reused'
          ? 'the refresh token was already used; every session of this user is revoked, log in again'
          : 'the refresh token is invalid or expired; log in again',
      );
    },

    async logout(principal, { refreshToken, all }) {
      await getTxManager().run(
        async () => {
          if (all) {
            await revokeAllRefreshTokens(principal.userId);
            return;
          }
          if (refreshToken === undefined) throw new ValidationError({ refreshToken: 'required unless all is true' }, 'nothing to log out');
          const hash = refreshTokenHash(refreshToken);
          if (!hash || !(await revokeRefreshToken(principal.userId, hash))) {
            throw new ValidationError({ refreshToken: 'is not a refresh token of this user' }, 'nothing to log out');
          }
        },
        { statementTimeoutMs: STATEMENT_TIMEOUT_MS },
      );
    },
  };
}
