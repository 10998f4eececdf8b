-- Catalogs (reference data): currencies, units, warehouses, counterparties,
-- nomenclature.
--
-- Every catalog shares the same shape:
--   * id uuid, code + name (code is the business key);
--   * soft delete via deletion_mark / deleted_at, because documents and
--     registers keep referencing the row (hard deletes are blocked by FKs);
--   * code unique among live rows only, so a code freed by a deletion mark
--     can be reused (ON CONFLICT on it must repeat: WHERE NOT deletion_mark);
--   * version for optimistic locking, created_at / updated_at.

-- migrate:up

CREATE TABLE currencies (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- ISO 4217 alphabetic code.
    code           text        NOT NULL CHECK (code ~ '^[A-Z]{3}$'),
    name           text        NOT NULL,
    symbol         text,
    decimal_places smallint    NOT NULL DEFAULT 2 CHECK (decimal_places BETWEEN 0 AND 4),
    is_base        boolean     NOT NULL DEFAULT false,
    deletion_mark  boolean     NOT NULL DEFAULT false,
    deleted_at     timestamptz,
    version        integer     NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX currencies_code_live_key ON currencies (code) WHERE NOT deletion_mark;
-- At most one base currency; to change it, clear the old flag first (same
-- transaction is fine).
CREATE UNIQUE INDEX currencies_single_base_key ON currencies (is_base) WHERE is_base;

CREATE TABLE units (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    code          text        NOT NULL CHECK (code <> ''),
    name          text        NOT NULL,
    symbol        text,
    deletion_mark boolean     NOT NULL DEFAULT false,
    deleted_at    timestamptz,
    version       integer     NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX units_code_live_key ON units (code) WHERE NOT deletion_mark;

CREATE TABLE warehouses (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    code          text        NOT NULL CHECK (code <> ''),
    name          text        NOT NULL,
    address       text,
    is_active     boolean     NOT NULL DEFAULT true,
    deletion_mark boolean     NOT NULL DEFAULT false,
    deleted_at    timestamptz,
    version       integer     NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX warehouses_code_live_key ON warehouses (code) WHERE NOT deletion_mark;

CREATE TABLE counterparties (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    code          text        NOT NULL CHECK (code <> ''),
    name          text        NOT NULL,
    kind          text        NOT NULL DEFAULT 'both'
                              CHECK (kind IN ('customer', 'supplier', 'both')),
    tax_id        text,
    email         text,
    phone         text,
    deletion_mark boolean     NOT NULL DEFAULT false,
    deleted_at    timestamptz,
    version       integer     NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX counterparties_code_live_key ON counterparties (code) WHERE NOT deletion_mark;

-- Items (goods and services).
CREATE TABLE nomenclature (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    code          text        NOT NULL CHECK (code <> ''),
    name          text        NOT NULL,
    -- Only 'goods' produce stock movements when documents are posted.
    kind          text        NOT NULL DEFAULT 'goods' CHECK (kind IN ('goods', 'service')),
    unit_id       uuid        REFERENCES units (id),
    article       text,
    barcode       text,
    description   text,
    deletion_mark boolean     NOT NULL DEFAULT false,
    deleted_at    timestamptz,
    version       integer     NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX nomenclature_code_live_key ON nomenclature (code) WHERE NOT deletion_mark;
CREATE INDEX nomenclature_unit_id_idx ON nomenclature (unit_id);
-- Scanner lookups; not unique because several items may share a barcode.
CREATE INDEX nomenclature_barcode_idx ON nomenclature (barcode) WHERE barcode IS NOT NULL;

-- Same three triggers on every catalog.
CREATE TRIGGER currencies_set_updated_at BEFORE UPDATE ON currencies
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER currencies_bump_version BEFORE UPDATE ON currencies
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER currencies_sync_deleted_at BEFORE INSERT OR UPDATE ON currencies
    FOR EACH ROW EXECUTE FUNCTION sync_deleted_at();

CREATE TRIGGER units_set_updated_at BEFORE UPDATE ON units
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER units_bump_version BEFORE UPDATE ON units
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER units_sync_deleted_at BEFORE INSERT OR UPDATE ON units
    FOR EACH ROW EXECUTE FUNCTION sync_deleted_at();

CREATE TRIGGER warehouses_set_updated_at BEFORE UPDATE ON warehouses
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER warehouses_bump_version BEFORE UPDATE ON warehouses
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER warehouses_sync_deleted_at BEFORE INSERT OR UPDATE ON warehouses
    FOR EACH ROW EXECUTE FUNCTION sync_deleted_at();

CREATE TRIGGER counterparties_set_updated_at BEFORE UPDATE ON counterparties
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER counterparties_bump_version BEFORE UPDATE ON counterparties
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER counterparties_sync_deleted_at BEFORE INSERT OR UPDATE ON counterparties
    FOR EACH ROW EXECUTE FUNCTION sync_deleted_at();

CREATE TRIGGER nomenclature_set_updated_at BEFORE UPDATE ON nomenclature
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER nomenclature_bump_version BEFORE UPDATE ON nomenclature
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER nomenclature_sync_deleted_at BEFORE INSERT OR UPDATE ON nomenclature
    FOR EACH ROW EXECUTE FUNCTION sync_deleted_at();

-- migrate:down

-- Dropping a table drops its triggers and indexes.
DROP TABLE nomenclature;
DROP TABLE counterparties;
DROP TABLE warehouses;
DROP TABLE units;
DROP TABLE currencies;
