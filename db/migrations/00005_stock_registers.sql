-- Stock accumulation register: movements (the journal, written only by
-- document posting) and balances (a running total per warehouse + item,
-- maintained by triggers on the movements, so reads never sum the journal).
--
-- Negative stock is deliberately NOT prevented here (no CHECK, no trigger):
-- whether it is allowed is a business rule (per tenant, per warehouse, or
-- only for some documents) that belongs to the posting engine.

-- migrate:up

CREATE TABLE stock_movements (
    id              bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Business date of the movement (the document date), not insert time.
    period          timestamptz   NOT NULL,
    -- The posting document. No FK: it points into one of several tables.
    recorder_type   text          NOT NULL
                                  CHECK (recorder_type IN ('goods_receipt', 'goods_issue', 'inventory_count')),
    recorder_id     uuid          NOT NULL,
    line_no         integer       NOT NULL,
    warehouse_id    uuid          NOT NULL REFERENCES warehouses (id),
    nomenclature_id uuid          NOT NULL REFERENCES nomenclature (id),
    -- Signed: + receipt / surplus, - issue / shortage.
    quantity        numeric(18,3) NOT NULL,
    amount          numeric(18,2) NOT NULL DEFAULT 0,
    created_at      timestamptz   NOT NULL DEFAULT now()
);

-- Finds (and on re-posting, deletes) the movements of one document; unique
-- because a document line produces at most one movement.
CREATE UNIQUE INDEX stock_movements_recorder_key
    ON stock_movements (recorder_type, recorder_id, line_no);
-- Stock reports and balance-at-date queries.
CREATE INDEX stock_movements_warehouse_item_period_idx
    ON stock_movements (warehouse_id, nomenclature_id, period);
-- FK to nomenclature (the index above leads with warehouse_id).
CREATE INDEX stock_movements_nomenclature_id_idx ON stock_movements (nomenclature_id);

CREATE TABLE stock_balances (
    warehouse_id    uuid          NOT NULL REFERENCES warehouses (id),
    nomenclature_id uuid          NOT NULL REFERENCES nomenclature (id),
    quantity        numeric(18,3) NOT NULL DEFAULT 0,
    amount          numeric(18,2) NOT NULL DEFAULT 0,
    updated_at      timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (warehouse_id, nomenclature_id)
);

-- "Where is this item" queries and the FK to nomenclature.
CREATE INDEX stock_balances_nomenclature_id_idx ON stock_balances (nomenclature_id);

-- Statement-level (transition tables) rather than per row: a document with
-- many lines does one upsert, the deltas are summed per key (ON CONFLICT
-- cannot touch the same row twice in one command), and rows are locked in
-- key order, which avoids deadlocks between concurrent postings.
-- UPDATE and TRUNCATE are handled too, so balances always equal the sum of
-- the movements, whoever changes them.
CREATE FUNCTION stock_movements_apply_to_balances() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO stock_balances AS b (warehouse_id, nomenclature_id, quantity, amount)
        SELECT warehouse_id, nomenclature_id, sum(quantity), sum(amount)
        FROM new_rows
        GROUP BY warehouse_id, nomenclature_id
        ORDER BY warehouse_id, nomenclature_id
        ON CONFLICT (warehouse_id, nomenclature_id) DO UPDATE
            SET quantity   = b.quantity + EXCLUDED.quantity,
                amount     = b.amount + EXCLUDED.amount,
                updated_at = now();
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO stock_balances AS b (warehouse_id, nomenclature_id, quantity, amount)
        SELECT warehouse_id, nomenclature_id, -sum(quantity), -sum(amount)
        FROM old_rows
        GROUP BY warehouse_id, nomenclature_id
        ORDER BY warehouse_id, nomenclature_id
        ON CONFLICT (warehouse_id, nomenclature_id) DO UPDATE
            SET quantity   = b.quantity + EXCLUDED.quantity,
                amount     = b.amount + EXCLUDED.amount,
                updated_at = now();
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO stock_balances AS b (warehouse_id, nomenclature_id, quantity, amount)
        SELECT warehouse_id, nomenclature_id, sum(quantity), sum(amount)
        FROM (
            SELECT warehouse_id, nomenclature_id, quantity, amount FROM new_rows
            UNION ALL
            SELECT warehouse_id, nomenclature_id, -quantity, -amount FROM old_rows
        ) AS delta
        GROUP BY warehouse_id, nomenclature_id
        ORDER BY warehouse_id, nomenclature_id
        ON CONFLICT (warehouse_id, nomenclature_id) DO UPDATE
            SET quantity   = b.quantity + EXCLUDED.quantity,
                amount     = b.amount + EXCLUDED.amount,
                updated_at = now();
    ELSIF TG_OP = 'TRUNCATE' THEN
        DELETE FROM stock_balances;
    END IF;
    RETURN NULL;
END;
$$;

-- PostgreSQL allows transition tables only on single-event triggers, hence
-- one trigger per event sharing the function.
CREATE TRIGGER stock_movements_balances_ins
    AFTER INSERT ON stock_movements
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stock_movements_apply_to_balances();
CREATE TRIGGER stock_movements_balances_del
    AFTER DELETE ON stock_movements
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stock_movements_apply_to_balances();
CREATE TRIGGER stock_movements_balances_upd
    AFTER UPDATE ON stock_movements
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stock_movements_apply_to_balances();
CREATE TRIGGER stock_movements_balances_trunc
    AFTER TRUNCATE ON stock_movements
    FOR EACH STATEMENT EXECUTE FUNCTION stock_movements_apply_to_balances();

-- Repair tool: recompute every balance from the journal (e.g. after a bulk
-- load done with triggers disabled). Returns the number of balance rows.
CREATE FUNCTION rebuild_stock_balances() RETURNS bigint
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    LOCK TABLE stock_movements IN SHARE MODE;
    LOCK TABLE stock_balances IN EXCLUSIVE MODE;
    DELETE FROM stock_balances;
    INSERT INTO stock_balances (warehouse_id, nomenclature_id, quantity, amount)
    SELECT warehouse_id, nomenclature_id, sum(quantity), sum(amount)
    FROM stock_movements
    GROUP BY warehouse_id, nomenclature_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;

-- migrate:down

DROP FUNCTION rebuild_stock_balances();
DROP TABLE stock_balances;
-- Drops the four triggers with the table.
DROP TABLE stock_movements;
DROP FUNCTION stock_movements_apply_to_balances();
