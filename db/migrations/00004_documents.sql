-- Documents: goods receipts, goods issues, inventory counts (header + lines).
--
-- Documents are soft-deleted like catalogs; the number is unique per
-- document type among live rows. The posted flag is owned by the posting
-- functions (next migrations): use them, do not flip it by hand.

-- migrate:up

-- A posted document has movements in the stock register that reference it
-- only by (recorder_type, recorder_id), with no FK; a hard delete would
-- orphan them and skew the balances. Unpost first.
CREATE FUNCTION forbid_posted_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.posted THEN
        RAISE EXCEPTION 'cannot delete posted document % from %; unpost it first',
            OLD.id, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
END;
$$;

COMMENT ON FUNCTION forbid_posted_delete() IS
    'BEFORE DELETE trigger on document headers: refuses to delete a posted document.';

-- Goods receipt: goods arrive at a warehouse from a supplier.
CREATE TABLE goods_receipts (
    id              uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
    number          text          NOT NULL CHECK (number <> ''),
    date            timestamptz   NOT NULL DEFAULT now(),
    counterparty_id uuid          REFERENCES counterparties (id),
    warehouse_id    uuid          NOT NULL REFERENCES warehouses (id),
    -- NULL means the base currency. Amounts are in the document currency.
    currency_id     uuid          REFERENCES currencies (id),
    posted          boolean       NOT NULL DEFAULT false,
    posted_at       timestamptz,
    deletion_mark   boolean       NOT NULL DEFAULT false,
    deleted_at      timestamptz,
    comment         text,
    -- Maintained by the application while editing; recomputed on posting.
    total_amount    numeric(18,2) NOT NULL DEFAULT 0,
    version         integer       NOT NULL DEFAULT 1,
    created_at      timestamptz   NOT NULL DEFAULT now(),
    updated_at      timestamptz   NOT NULL DEFAULT now(),
    -- SET NULL: removing a user must not remove the documents they entered.
    created_by      uuid          REFERENCES users (id) ON DELETE SET NULL,
    -- A document marked for deletion must not keep movements in registers.
    CONSTRAINT goods_receipts_posted_not_deleted_chk CHECK (NOT (posted AND deletion_mark))
);

CREATE UNIQUE INDEX goods_receipts_number_live_key ON goods_receipts (number) WHERE NOT deletion_mark;
CREATE INDEX goods_receipts_date_idx ON goods_receipts (date);
CREATE INDEX goods_receipts_counterparty_id_idx ON goods_receipts (counterparty_id);
CREATE INDEX goods_receipts_warehouse_id_idx ON goods_receipts (warehouse_id);
CREATE INDEX goods_receipts_currency_id_idx ON goods_receipts (currency_id);
CREATE INDEX goods_receipts_created_by_idx ON goods_receipts (created_by);

CREATE TABLE goods_receipt_lines (
    id              uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
    document_id     uuid          NOT NULL REFERENCES goods_receipts (id) ON DELETE CASCADE,
    line_no         integer       NOT NULL CHECK (line_no > 0),
    nomenclature_id uuid          NOT NULL REFERENCES nomenclature (id),
    quantity        numeric(18,3) NOT NULL CHECK (quantity > 0),
    price           numeric(18,2) NOT NULL CHECK (price >= 0),
    -- Stored, not generated: the application may apply rounding/discounts.
    amount          numeric(18,2) NOT NULL CHECK (amount >= 0),
    -- Also serves as the index for the document_id FK.
    CONSTRAINT goods_receipt_lines_document_line_key UNIQUE (document_id, line_no)
);

CREATE INDEX goods_receipt_lines_nomenclature_id_idx ON goods_receipt_lines (nomenclature_id);

-- Goods issue: goods leave a warehouse to a customer.
CREATE TABLE goods_issues (
    id              uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
    number          text          NOT NULL CHECK (number <> ''),
    date            timestamptz   NOT NULL DEFAULT now(),
    counterparty_id uuid          REFERENCES counterparties (id),
    warehouse_id    uuid          NOT NULL REFERENCES warehouses (id),
    currency_id     uuid          REFERENCES currencies (id),
    posted          boolean       NOT NULL DEFAULT false,
    posted_at       timestamptz,
    deletion_mark   boolean       NOT NULL DEFAULT false,
    deleted_at      timestamptz,
    comment         text,
    total_amount    numeric(18,2) NOT NULL DEFAULT 0,
    version         integer       NOT NULL DEFAULT 1,
    created_at      timestamptz   NOT NULL DEFAULT now(),
    updated_at      timestamptz   NOT NULL DEFAULT now(),
    created_by      uuid          REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT goods_issues_posted_not_deleted_chk CHECK (NOT (posted AND deletion_mark))
);

CREATE UNIQUE INDEX goods_issues_number_live_key ON goods_issues (number) WHERE NOT deletion_mark;
CREATE INDEX goods_issues_date_idx ON goods_issues (date);
CREATE INDEX goods_issues_counterparty_id_idx ON goods_issues (counterparty_id);
CREATE INDEX goods_issues_warehouse_id_idx ON goods_issues (warehouse_id);
CREATE INDEX goods_issues_currency_id_idx ON goods_issues (currency_id);
CREATE INDEX goods_issues_created_by_idx ON goods_issues (created_by);

CREATE TABLE goods_issue_lines (
    id              uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
    document_id     uuid          NOT NULL REFERENCES goods_issues (id) ON DELETE CASCADE,
    line_no         integer       NOT NULL CHECK (line_no > 0),
    nomenclature_id uuid          NOT NULL REFERENCES nomenclature (id),
    quantity        numeric(18,3) NOT NULL CHECK (quantity > 0),
    -- Sale price; the stock register is credited at average cost instead.
    price           numeric(18,2) NOT NULL CHECK (price >= 0),
    amount          numeric(18,2) NOT NULL CHECK (amount >= 0),
    CONSTRAINT goods_issue_lines_document_line_key UNIQUE (document_id, line_no)
);

CREATE INDEX goods_issue_lines_nomenclature_id_idx ON goods_issue_lines (nomenclature_id);

-- Inventory count: actual quantities found in a warehouse vs the books.
CREATE TABLE inventory_counts (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    number        text        NOT NULL CHECK (number <> ''),
    date          timestamptz NOT NULL DEFAULT now(),
    warehouse_id  uuid        NOT NULL REFERENCES warehouses (id),
    posted        boolean     NOT NULL DEFAULT false,
    posted_at     timestamptz,
    deletion_mark boolean     NOT NULL DEFAULT false,
    deleted_at    timestamptz,
    comment       text,
    version       integer     NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    created_by    uuid        REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT inventory_counts_posted_not_deleted_chk CHECK (NOT (posted AND deletion_mark))
);

CREATE UNIQUE INDEX inventory_counts_number_live_key ON inventory_counts (number) WHERE NOT deletion_mark;
CREATE INDEX inventory_counts_date_idx ON inventory_counts (date);
CREATE INDEX inventory_counts_warehouse_id_idx ON inventory_counts (warehouse_id);
CREATE INDEX inventory_counts_created_by_idx ON inventory_counts (created_by);

CREATE TABLE inventory_count_lines (
    id              uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
    document_id     uuid          NOT NULL REFERENCES inventory_counts (id) ON DELETE CASCADE,
    line_no         integer       NOT NULL CHECK (line_no > 0),
    nomenclature_id uuid          NOT NULL REFERENCES nomenclature (id),
    -- Book quantity may be negative: negative stock is not forbidden.
    quantity_book   numeric(18,3) NOT NULL DEFAULT 0,
    quantity_actual numeric(18,3) NOT NULL CHECK (quantity_actual >= 0),
    -- Surplus (+) or shortage (-) written to the stock register on posting.
    difference      numeric(18,3) GENERATED ALWAYS AS (quantity_actual - quantity_book) STORED,
    CONSTRAINT inventory_count_lines_document_line_key UNIQUE (document_id, line_no),
    -- One line per item: two lines would double-count the difference.
    CONSTRAINT inventory_count_lines_document_item_key UNIQUE (document_id, nomenclature_id)
);

CREATE INDEX inventory_count_lines_nomenclature_id_idx ON inventory_count_lines (nomenclature_id);

-- Header triggers (same set on every document type).
CREATE TRIGGER goods_receipts_set_updated_at BEFORE UPDATE ON goods_receipts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER goods_receipts_bump_version BEFORE UPDATE ON goods_receipts
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER goods_receipts_sync_deleted_at BEFORE INSERT OR UPDATE ON goods_receipts
    FOR EACH ROW EXECUTE FUNCTION sync_deleted_at();
CREATE TRIGGER goods_receipts_forbid_posted_delete BEFORE DELETE ON goods_receipts
    FOR EACH ROW EXECUTE FUNCTION forbid_posted_delete();

CREATE TRIGGER goods_issues_set_updated_at BEFORE UPDATE ON goods_issues
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER goods_issues_bump_version BEFORE UPDATE ON goods_issues
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER goods_issues_sync_deleted_at BEFORE INSERT OR UPDATE ON goods_issues
    FOR EACH ROW EXECUTE FUNCTION sync_deleted_at();
CREATE TRIGGER goods_issues_forbid_posted_delete BEFORE DELETE ON goods_issues
    FOR EACH ROW EXECUTE FUNCTION forbid_posted_delete();

CREATE TRIGGER inventory_counts_set_updated_at BEFORE UPDATE ON inventory_counts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER inventory_counts_bump_version BEFORE UPDATE ON inventory_counts
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER inventory_counts_sync_deleted_at BEFORE INSERT OR UPDATE ON inventory_counts
    FOR EACH ROW EXECUTE FUNCTION sync_deleted_at();
CREATE TRIGGER inventory_counts_forbid_posted_delete BEFORE DELETE ON inventory_counts
    FOR EACH ROW EXECUTE FUNCTION forbid_posted_delete();

-- migrate:down

DROP TABLE inventory_count_lines;
DROP TABLE inventory_counts;
DROP TABLE goods_issue_lines;
DROP TABLE goods_issues;
DROP TABLE goods_receipt_lines;
DROP TABLE goods_receipts;
DROP FUNCTION forbid_posted_delete();
