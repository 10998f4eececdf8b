/**
 * The document workflow, generic over the definitions: create, edit,
 * mark for deletion, post and unpost, each in one transaction of the
 * request's transaction manager. Every write to an existing document locks
 * its header FOR UPDATE first, then the catalog rows it references (FOR
 * SHARE, lockReferences), then calls the schema's posting functions: the
 * same order everywhere, so concurrent writers queue instead of deadlocking.
 * A failure anywhere (a stale version, an unknown item, a shortage found
 * after posting a goods issue) rolls the whole transaction back.
 */
import { getTxManager } from '../../context/tenant-context.js';
import {
  ConflictError,
  DocumentPostedError,
  InsufficientStockError,
  NotFoundError,
  StaleVersionError,
  ValidationError,
  isUniqueViolation,
} from '../../errors.js';
import { isUuid } from '../../tenants/tenant.js';
import { lockReferences, type CatalogReference } from '../catalogs/catalog-references.js';
import { fillBookQuantities, findShortages } from '../stock/stock-register.js';
import type { DocumentDefinition } from './document-definitions.js';
import type { ColumnValues, DocumentInput } from './document-input.js';
import { documentRepository as repo, type DocumentView, type ListQuery, type LockedHeader } from './document-repository.js';
import { pageOf } from '../input/list-page.js';

/** Writes are short: a statement stuck on a lock for 5 s gives up (503 QUERY_TIMEOUT) instead of holding the connection. */
const WRITE_TX = { statementTimeoutMs: 5_000 };

export interface DocumentPage {
  items: DocumentView[];
  nextCursor: string | null;
}

function notFound(def: DocumentDefinition, id: string): NotFoundError {
  return new NotFoundError(`no ${def.noun} with id ${id.slice(0, 64)}`);
}

async function lockOrThrow(def: DocumentDefinition, id: string): Promise<LockedHeader> {
  const header = isUuid(id) ? await repo.lock(def, id) : undefined;
  if (!header) throw notFound(def, id);
  return header;
}

function checkVersion(header: LockedHeader, expected: number | undefined): void {
  if (expected !== undefined && expected !== header.version) throw new StaleVersionError(expected, header.version);
}

async function readOrThrow(def: DocumentDefinition, id: string): Promise<DocumentView> {
  const view = await repo.read(def, id);
  if (!view) throw notFound(def, id);
  return view;
}

/** Runs a write; a duplicate live number becomes 409 CONFLICT naming the field. */
async function write<T>(def: DocumentDefinition, number: string | null | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await getTxManager().run(fn, WRITE_TX);
  } catch (err) {
    if (isUniqueViolation(err, `${def.table}_number_live_key`)) {
      const which = number ? `numbered ${number}` : 'with the same number';
      throw new ConflictError(`number: another live ${def.noun} ${which} exists`, { cause: err });
    }
    throw err;
  }
}

/**
 * Posts a document whose header this transaction has locked: checks every
 * reference (the catalog rows may have been marked for deletion since the
 * document was saved), fills book quantities (inventory counts), calls the
 * posting function, then refuses a goods issue that left stock below zero.
 */
async function postLocked(def: DocumentDefinition, header: LockedHeader): Promise<void> {
  const { id } = header;
  const references: CatalogReference[] = [];
  for (const spec of def.header) {
    const value = header.references[spec.column];
    if (spec.kind === 'reference' && value) references.push({ field: spec.name, catalog: spec.catalog, id: value });
  }
  for (const line of await repo.lineItems(def, id)) {
    references.push({ field: `lines[${line.lineNo - 1}].nomenclatureId`, catalog: 'nomenclature', id: line.nomenclatureId });
  }
  await lockReferences(references);
  if (def.fillsBookQuantity) await fillBookQuantities(def, id, header.references.warehouse_id as string);
  await repo.post(def, id);
  if (def.checksStock) {
    const shortages = await findShortages(def.recorderType, id);
    if (shortages.length > 0) throw new InsufficientStockError(shortages);
  }
}

export const documentService = {
  async list(def: DocumentDefinition, query: ListQuery): Promise<DocumentPage> {
    const rows = await repo.list(def, query);
    return pageOf(
      rows,
      query.limit,
      (row) => row.key,
      (row) => row.view,
    );
  },

  async get(def: DocumentDefinition, id: string): Promise<DocumentView> {
    if (!isUuid(id)) throw notFound(def, id);
    return readOrThrow(def, id);
  },

  async create(def: DocumentDefinition, input: DocumentInput, userId: string | undefined): Promise<DocumentView> {
    return write(def, input.header.number, async () => {
      await lockReferences(input.references);
      const id = await repo.insertHeader(def, input.header, input.totalAmount, userId);
      await repo.insertLines(def, id, input.lines ?? []);
      return readOrThrow(def, id);
    });
  },

  /**
   * PATCH: the header fields given change, `lines` (when given) replace the
   * lines. A posted document is refused unless `repost`, which edits and
   * posts again in the same transaction (an unposted one is posted).
   */
  async update(
    def: DocumentDefinition,
    id: string,
    input: DocumentInput,
    options: { expectedVersion: number; repost: boolean },
  ): Promise<DocumentView> {
    return write(def, input.header.number, async () => {
      const header = await lockOrThrow(def, id);
      checkVersion(header, options.expectedVersion);
      if (header.posted && !options.repost) {
        throw new DocumentPostedError(`${def.noun} ${id} is posted: unpost it first, or send the change with ?repost=true`);
      }
      const marked = input.deletionMark ?? header.deletionMark;
      if (options.repost && marked) {
        if (header.posted) throw new DocumentPostedError(`${def.noun} ${id} is posted and cannot be marked for deletion; unpost it first`);
        throw new ValidationError(
          { deletionMark: 'a document marked for deletion cannot be posted (?repost=true)' },
          `the ${def.noun} cannot be posted`,
        );
      }
      await lockReferences(input.references);
      const changes: ColumnValues = { ...input.header };
      if (input.totalAmount !== undefined) changes.total_amount = input.totalAmount;
      if (input.deletionMark !== undefined && input.deletionMark !== header.deletionMark) changes.deletion_mark = String(input.deletionMark);
      if (Object.keys(changes).length > 0 || input.lines) await repo.updateHeader(def, id, changes);
      if (input.lines) {
        await repo.deleteLines(def, id);
        await repo.insertLines(def, id, input.lines);
      }
      if (options.repost) {
        // The references as this transaction just wrote them.
        const written = { ...header.references };
        for (const column of Object.keys(written)) if (column in input.header) written[column] = input.header[column] ?? null;
        await postLocked(def, { ...header, references: written });
      }
      return readOrThrow(def, id);
    });
  },

  /** Marks for deletion (idempotent); a posted document must be unposted first. */
  async remove(def: DocumentDefinition, id: string, expectedVersion: number | undefined): Promise<DocumentView> {
    return write(def, undefined, async () => {
      const header = await lockOrThrow(def, id);
      checkVersion(header, expectedVersion);
      if (header.posted) throw new DocumentPostedError(`${def.noun} ${id} is posted: unpost it before marking it for deletion`);
      if (!header.deletionMark) await repo.updateHeader(def, id, { deletion_mark: 'true' });
      return readOrThrow(def, id);
    });
  },

  /** Posts (or re-posts) the document; a goods issue that would take stock below zero is refused and nothing is written. */
  async post(def: DocumentDefinition, id: string, expectedVersion: number | undefined): Promise<DocumentView> {
    return write(def, undefined, async () => {
      const header = await lockOrThrow(def, id);
      checkVersion(header, expectedVersion);
      if (header.deletionMark) {
        throw new ConflictError(`${def.noun} ${id} is marked for deletion; restore it (PATCH deletionMark: false) before posting`);
      }
      await postLocked(def, header);
      return readOrThrow(def, id);
    });
  },

  /** Removes the document's movements (idempotent: an unposted document keeps its version). */
  async unpost(def: DocumentDefinition, id: string, expectedVersion: number | undefined): Promise<DocumentView> {
    return write(def, undefined, async () => {
      const header = await lockOrThrow(def, id);
      checkVersion(header, expectedVersion);
      await repo.unpost(def, id);
      return readOrThrow(def, id);
    });
  },
};
