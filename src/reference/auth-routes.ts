/**
 * /api/v1/auth: login and refresh (public: they are how a token is got),
 * logout and me (any valid token). Bodies are read by the tables in
 * erp/auth/auth-fields.ts, which also write the documented schemas.
 */
import type http from 'node:http';
import type { ApiAuth, ClientInfo } from '../erp/auth/api-auth.js';
import { LOGIN_BODY, LOGOUT_BODY, REFRESH_BODY, authBodySchema, readAuthBody } from '../erp/auth/auth-fields.js';
import { findUserById, userView } from '../erp/auth/user-queries.js';
import { InputReader } from '../erp/input/input-reader.js';
import { UnauthenticatedError } from '../errors.js';
import { sendJson } from '../server/http-errors.js';
import type { JsonSchema } from './api-route.js';
import { readJson } from './http-body.js';
import type { Router } from './router.js';

const AUTH = '/api/v1/auth';
/** Login bodies are small; a large one is refused before it is parsed. */
const BODY_LIMIT_BYTES = 8 * 1024;

const USER_VIEW_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['id', 'email', 'fullName', 'roles', 'permissions'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    email: { type: 'string' },
    fullName: { type: ['string', 'null'] },
    roles: { type: 'array', items: { type: 'string' } },
    permissions: { type: 'array', items: { type: 'string' }, description: 'The permission codes the roles grant (admin grants all)' },
  },
};

const TOKEN_PAIR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['tokenType', 'accessToken', 'expiresIn', 'refreshToken', 'refreshExpiresIn', 'user'],
  properties: {
    tokenType: { const: 'Bearer' },
    accessToken: { type: 'string', description: 'Send as Authorization: Bearer <accessToken>, with X-Tenant-ID' },
    expiresIn: { type: 'integer', description: 'Seconds until the access token expires' },
    refreshToken: { type: 'string', description: 'Single use: POST it to /api/v1/auth/refresh for the next pair' },
    refreshExpiresIn: { type: 'integer', description: 'Seconds until the refresh token expires' },
    user: USER_VIEW_SCHEMA,
  },
};

/** Who is calling, for the refresh token's row: the socket's address (no proxy header is trusted) and the User-Agent. */
function clientOf(req: http.IncomingMessage): ClientInfo {
  const userAgent = req.headers['user-agent'];
  return { userAgent: typeof userAgent === 'string' ? userAgent : undefined, ip: req.socket.remoteAddress };
}

async function readBody(req: http.IncomingMessage): Promise<InputReader> {
  return new InputReader(await readJson(req, BODY_LIMIT_BYTES));
}

export function registerAuthRoutes(router: Router, auth: ApiAuth): void {
  router.add(
    'POST',
    `${AUTH}/login`,
    async ({ req, res }) => {
      const body = readAuthBody(await readBody(req), LOGIN_BODY, 'the login is invalid');
      const pair = await auth.login({ email: body.email as string, password: body.password as string }, clientOf(req));
      sendJson(res, 200, pair);
    },
    {
      access: 'public',
      doc: {
        summary: 'Log in with email and password: an access token and a refresh token',
        tag: 'Auth',
        requestBody: authBodySchema(LOGIN_BODY),
        response: { status: 200, schema: TOKEN_PAIR_SCHEMA },
        errors: [401, 429],
      },
    },
  );

  router.add(
    'POST',
    `${AUTH}/refresh`,
    async ({ req, res }) => {
      const body = readAuthBody(await readBody(req), REFRESH_BODY, 'the refresh is invalid');
      sendJson(res, 200, await auth.refresh(body.refreshToken as string, clientOf(req)));
    },
    {
      access: 'public',
      doc: {
        summary: 'Exchange a refresh token for a new pair (the old refresh token is revoked; reusing it revokes every session)',
        tag: 'Auth',
        requestBody: authBodySchema(REFRESH_BODY),
        response: { status: 200, schema: TOKEN_PAIR_SCHEMA },
        errors: [401],
      },
    },
  );

  router.add(
    'POST',
    `${AUTH}/logout`,
    async ({ req, res, principal }) => {
      if (!principal) throw new UnauthenticatedError();
      const body = readAuthBody(await readBody(req), LOGOUT_BODY, 'the logout is invalid');
      await auth.logout(principal, { refreshToken: body.refreshToken, all: body.all ?? false });
      res.writeHead(204, { 'cache-control': 'no-store' }).end();
    },
    {
      access: 'authenticated',
      doc: {
        summary: 'Revoke the given refresh token, or every refresh token of the user with all: true',
        tag: 'Auth',
        requestBody: authBodySchema(LOGOUT_BODY),
        response: { status: 204, description: 'Revoked' },
      },
    },
  );

  router.add(
    'GET',
    `${AUTH}/me`,
    async ({ res, principal }) => {
      if (!principal) throw new UnauthenticatedError();
      // The principal was just read from the user's row; a second read returns the same view with its name.
      const user = await findUserById(principal.userId);
      if (!user) throw new UnauthenticatedError('the user of this token does not exist or is disabled');
      sendJson(res, 200, userView(user));
    },
    {
      access: 'authenticated',
      doc: {
        summary: 'The user of the access token, with roles and permissions',
        tag: 'Auth',
        response: { status: 200, schema: USER_VIEW_SCHEMA },
      },
    },
  );
}
