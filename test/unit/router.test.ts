import { describe, expect, it } from 'vitest';
import type { RouteInfo } from '../../src/reference/api-route.js';
import { Router } from '../../src/reference/router.js';

describe('Router', () => {
  const list = () => undefined;
  const create = () => undefined;
  const get = () => undefined;
  const router = new Router().add('GET', '/api/items', list).add('POST', '/api/items', create).add('GET', '/api/items/:id', get);

  it('matches exact paths and captures parameters', () => {
    expect(router.match('GET', '/api/items')).toEqual({ kind: 'found', handler: list, params: {}, route: '/api/items' });
    expect(router.match('post', '/api/items/')).toEqual({ kind: 'found', handler: create, params: {}, route: '/api/items' });
    expect(router.match('GET', '/api/items/a%20b')).toEqual({ kind: 'found', handler: get, params: { id: 'a b' }, route: '/api/items/:id' });
  });

  it('tells a wrong method from an unknown path', () => {
    expect(router.match('DELETE', '/api/items')).toEqual({ kind: 'method-not-allowed', allowed: ['GET', 'POST'] });
    expect(router.match('GET', '/api/other')).toEqual({ kind: 'not-found' });
    expect(router.match('GET', '/api/items/1/2')).toEqual({ kind: 'not-found' });
    expect(router.match('GET', '/api/items/%E0%A4%A')).toEqual({ kind: 'not-found' });
  });

  it('keeps each route’s declaration (access and documentation) for the app and the OpenAPI document', () => {
    const info: RouteInfo = {
      access: { permission: 'catalogs.read' },
      doc: { summary: 'List things', tag: 'Things', response: { status: 200 } },
    };
    const declared = new Router().add('get', '/api/things', list, info).add('DELETE', '/api/things/:id', get);
    expect(declared.match('GET', '/api/things')).toEqual({ kind: 'found', handler: list, params: {}, route: '/api/things', info });
    // Undeclared: no info in the match (the app then asks for a token).
    expect(declared.match('DELETE', '/api/things/1')).not.toHaveProperty('info');
    expect(declared.list()).toEqual([
      { method: 'GET', pattern: '/api/things', info },
      { method: 'DELETE', pattern: '/api/things/:id', info: undefined },
    ]);
  });
});
