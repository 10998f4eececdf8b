/**
 * The rules of catalog writes, each in one transaction of the request's
 * tenant: references must point at live rows (lockReferences, 422), PATCH
 * needs the version the client read (409 STALE_VERSION), and a row that
 * posted documents use cannot be marked for deletion (409 IN_USE).
 *
 * Lock order for a deletion mark: the row FOR UPDATE first, then the search
 * for posted documents. Posting takes the same row FOR SHARE (lockReferences)
 * before it writes, so whichever comes second waits for the first and then
 * sees what it committed: a document cannot be posted against a row being
 * marked, and a row cannot be marked under a document being posted.
 */
import { getTxManager } from '../../context/tenant-context.js';
import { InUseError, NotFoundError, StaleVersionError } from '../../errors.js';
import { isUuid } from '../../tenants/tenant.js';
import type { CatalogDefinition } from './catalog-definition.js';
import { CATALOG_DEFINITIONS } from './catalog-definitions.js';
import type { CatalogPatch, CatalogValues } from './catalog-input.js';
import type { CatalogPage } from './catalog-page.js';
import { lockReferences, type CatalogName, type CatalogReference } from './catalog-references.js';
import { catalogRepository, type CatalogList, type CatalogRecord } from './catalog-repository.js';

/** Every write's statements together must not hold locks longer than this. */
const WRITE = { statementTimeoutMs: 5_000 } as const;

export function listCatalog(name: CatalogName, page: CatalogPage): Promise<CatalogList> {
  return catalogRepository(name).list(page);
}

/** The row (also when marked for deletion); a malformed or unknown id is 404. */
export async function getCatalogRow(name: CatalogName, id: string): Promise<CatalogRecord> {
  const row = isUuid(id) ? await catalogRepository(name).get(id) : undefined;
  if (!row) throw notFound(CATALOG_DEFINITIONS[name], id);
  return row;
}

export function createCatalogRow(name: CatalogName, values: CatalogValues): Promise<CatalogRecord> {
  const def = CATALOG_DEFINITIONS[name];
  return getTxManager().run(async () => {
    await lockReferences(referencesOf(def, values, Object.keys(def.fields)));
    return catalogRepository(name).insert(values);
  }, WRITE);
}

/** Applies the fields sent; `version` is the one the client read (body or If-Match). */
export function updateCatalogRow(name: CatalogName, id: string, patch: CatalogPatch, version: number): Promise<CatalogRecord> {
  const def = CATALOG_DEFINITIONS[name];
  return getTxManager().run(async () => {
    const current = await lockRow(def, id);
    if (current.version !== version) throw new StaleVersionError(version, current.version);
    const values = { ...fieldsOf(def, current), ...patch.changes };
    const deletionMark = patch.deletionMark ?? current.deletionMark;
    const changed = deletionMark !== current.deletionMark || Object.keys(def.fields).some((f) => values[f] !== current[f]);
    if (!changed) return current;
    if (!deletionMark) {
      // A restored row must point at live rows again; otherwise only the references sent are checked.
      const restoring = current.deletionMark;
      await lockReferences(referencesOf(def, values, restoring ? Object.keys(def.fields) : Object.keys(patch.changes)));
    } else if (!current.deletionMark) {
      await assertNotInUse(def, current);
    }
    return (await catalogRepository(name).update(id, values, deletionMark)) as CatalogRecord;
  }, WRITE);
}

/** Marks the row for deletion (idempotent); `version`, when given, must be current. */
export function markCatalogRowDeleted(name: CatalogName, id: string, version?: number): Promise<CatalogRecord> {
  const def = CATALOG_DEFINITIONS[name];
  return getTxManager().run(async () => {
    const current = await lockRow(def, id);
    // Already marked: the answer a retried DELETE expects, whatever version it carries.
    if (current.deletionMark) return current;
    if (version !== undefined && current.version !== version) throw new StaleVersionError(version, current.version);
    await assertNotInUse(def, current);
    return (await catalogRepository(name).update(id, fieldsOf(def, current), true)) as CatalogRecord;
  }, WRITE);
}

async function lockRow(def: CatalogDefinition, id: string): Promise<CatalogRecord> {
  const row = isUuid(id) ? await catalogRepository(def.name).lockForUpdate(id) : undefined;
  if (!row) throw notFound(def, id);
  return row;
}

/** Refuses (409 IN_USE) when posted documents reference the row; call with the row locked FOR UPDATE. */
async function assertNotInUse(def: CatalogDefinition, row: CatalogRecord): Promise<void> {
  const uses = await catalogRepository(def.name).postedUses(row.id);
  if (uses.length === 0) return;
  const named = [...new Set(uses.map((u) => `${u.document} ${u.number}`))].slice(0, 5).join(', ');
  throw new InUseError(
    `${def.noun} ${row.code} is used by posted documents (${named}${uses.length > 5 ? ', ...' : ''}); unpost them before marking it for deletion`,
  );
}

/** The reference fields among `names` that hold an id. */
function referencesOf(def: CatalogDefinition, values: CatalogValues, names: string[]): CatalogReference[] {
  const references: CatalogReference[] = [];
  for (const name of names) {
    const field = def.fields[name];
    const id = values[name];
    if (field?.kind === 'reference' && typeof id === 'string') references.push({ field: name, catalog: field.catalog, id });
  }
  return references;
}

function fieldsOf(def: CatalogDefinition, row: CatalogRecord): CatalogValues {
  return Object.fromEntries(Object.keys(def.fields).map((name) => [name, row[name] ?? null]));
}

function notFound(def: CatalogDefinition, id: string): NotFoundError {
  return new NotFoundError(`no ${def.noun} with id ${id.slice(0, 64)}`);
}
