/**
 * The contract between the reference API and its users-and-tokens service.
 * Every method runs inside a tenant scope (the TenantDB middleware's): it
 * reads and writes the request tenant's users and refresh_tokens through
 * getTxManager() and binds tokens to getTenant().id.
 */
import type { Principal } from './permissions.js';

/** Who is calling, for the refresh-token row (both optional, both capped). */
export interface ClientInfo {
  userAgent?: string | undefined;
  ip?: string | undefined;
}

export interface UserView {
  id: string;
  email: string;
  fullName: string | null;
  roles: string[];
  permissions: string[];
}

export interface TokenPair {
  tokenType: 'Bearer';
  accessToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  user: UserView;
}

export interface ApiAuth {
  /**
   * The principal of `Authorization: Bearer <token>`: the signature, expiry and
   * tenant (must be the scope's) are checked, then the user's row (active, its
   * roles' permissions) is read, so a disabled user stops at once.
   * Throws UnauthenticatedError.
   */
  authenticate(authorization: string | undefined): Promise<Principal>;
  /** Email and password → tokens. Rate-limited per tenant and email (RateLimitedError); a wrong pair is UnauthenticatedError. */
  login(credentials: { email: string; password: string }, client: ClientInfo): Promise<TokenPair>;
  /** A refresh token → a new pair; the old refresh token is revoked (rotation). A reused revoked token revokes all of the user's. */
  refresh(refreshToken: string, client: ClientInfo): Promise<TokenPair>;
  /** Revokes the refresh token given (it must be the principal's), or every refresh token of the principal with `all`. */
  logout(principal: Principal, options: { refreshToken?: string | undefined; all?: boolean }): Promise<void>;
}
