import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { CATALOG_NAMES } from '../../src/erp/catalogs/catalog-references.js';
import { registerCatalogRoutes } from '../../src/reference/catalog-routes.js';
import { expectedVersion } from '../../src/reference/expected-version.js';
import { Router } from '../../src/reference/router.js';

function fieldsOf(fn: () => unknown): Record<string, string> {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).fields;
  }
  throw new Error('expected a ValidationError');
}

describe('catalog routes', () => {
  it('registers the same five routes for each catalog, each with its access rule and documentation', () => {
    const router = new Router();
    registerCatalogRoutes(router);
    const routes = router.list();
    expect(routes.map((r) => `${r.method} ${r.pattern}`)).toEqual(
      CATALOG_NAMES.flatMap((name) => [
        `GET /api/v1/catalogs/${name}`,
        `POST /api/v1/catalogs/${name}`,
        `GET /api/v1/catalogs/${name}/:id`,
        `PATCH /api/v1/catalogs/${name}/:id`,
        `DELETE /api/v1/catalogs/${name}/:id`,
      ]),
    );
    for (const route of routes) {
      expect(route.info?.access, route.pattern).toEqual({ permission: route.method === 'GET' ? 'catalogs.read' : 'catalogs.write' });
      expect(route.info?.doc).toMatchObject({ tag: 'Catalogs', summary: expect.any(String), response: { schema: expect.any(Object) } });
      expect(route.info?.doc.requestBody !== undefined, route.pattern).toBe(route.method === 'POST' || route.method === 'PATCH');
    }
    const post = routes.find((r) => r.method === 'POST' && r.pattern.endsWith('/nomenclature'));
    expect(post?.info?.doc.errors).toContain(422);
    expect(post?.info?.doc.response.status).toBe(201);
    const list = routes.find((r) => r.method === 'GET' && r.pattern.endsWith('/units'));
    expect(list?.info?.doc.query?.map((q) => q.name)).toEqual(['limit', 'cursor', 'q', 'include']);
  });
});

describe('expectedVersion', () => {
  it('takes the body version or If-Match ("n", n or W/"n")', () => {
    expect(expectedVersion(4, undefined, true)).toBe(4);
    expect(expectedVersion(undefined, '"7"', true)).toBe(7);
    expect(expectedVersion(undefined, ' 7 ', true)).toBe(7);
    expect(expectedVersion(undefined, 'W/"7"', true)).toBe(7);
    expect(expectedVersion(7, '"7"', true)).toBe(7);
    expect(expectedVersion(undefined, undefined, false)).toBeUndefined();
  });

  it('names version when it is missing or the two disagree, and If-Match when it is not a version', () => {
    expect(fieldsOf(() => expectedVersion(undefined, undefined, true))).toEqual({ version: expect.stringContaining('required') });
    expect(fieldsOf(() => expectedVersion(3, '"4"', true))).toEqual({ version: expect.any(String) });
    for (const bad of ['*', '"abc"', '0', '"99999999999"', '']) {
      expect(
        fieldsOf(() => expectedVersion(undefined, bad, false)),
        bad,
      ).toEqual({ 'If-Match': expect.any(String) });
    }
  });
});
