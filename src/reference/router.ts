/**
 * A tiny router: exact segments and `:param` segments, nothing else. Enough
 * for the reference API without pulling a framework into the library.
 */
import type http from 'node:http';
import type { Permission, Principal } from '../erp/auth/permissions.js';
import type { RouteInfo } from './api-route.js';

export interface RouteContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The authenticated user (routes whose access is not `public`). */
  principal?: Principal | undefined;
  /** Throws FORBIDDEN unless the principal has the permission (for rules that depend on the request, e.g. ?repost=true). */
  require(permission: Permission): void;
}

export type RouteHandler = (ctx: RouteContext) => void | Promise<void>;

export type RouteMatch =
  /** `route`: the pattern as added (`/api/v1/catalogs/currencies/:id`), for logs and metrics. */
  | {
      kind: 'found';
      handler: RouteHandler;
      params: Record<string, string>;
      route: string;
      info?: RouteInfo;
    }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

interface Route {
  method: string;
  pattern: string;
  segments: string[];
  handler: RouteHandler;
  info: RouteInfo | undefined;
}

/** A registered route as the OpenAPI document and its test see it. */
export interface RegisteredRoute {
  method: string;
  pattern: string;
  info: RouteInfo | undefined;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: RouteHandler, info?: RouteInfo): this {
    this.routes.push({ method: method.toUpperCase(), pattern, segments: split(pattern), handler, info });
    return this;
  }

  /** Every route in the order added. */
  list(): RegisteredRoute[] {
    return this.routes.map(({ method, pattern, info }) => ({ method, pattern, info }));
  }

  match(method: string, path: string): RouteMatch {
    const segments = split(path);
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      if (route.method === method.toUpperCase()) {
        return {
          kind: 'found',
          handler: route.handler,
          params,
          route: route.pattern,
          ...(route.info ? { info: route.info } : {}),
        };
      }
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i] as string;
    const got = actual[i] as string;
    if (want.startsWith(':')) {
      try {
        params[want.slice(1)] = decodeURIComponent(got);
      } catch {
        return undefined;
      }
    } else if (want !== got) {
      return undefined;
    }
  }
  return params;
}
