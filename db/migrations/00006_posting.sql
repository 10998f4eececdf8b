-- Posting: turns documents into stock register movements.
--
-- post_* (re)writes the document's movements and marks it posted; posting an
-- already posted document re-posts it (old movements are deleted first, so
-- edits made since the last posting are picked up). unpost_document removes
-- the movements. Balances follow through the triggers on stock_movements.
-- Each function locks the document row first, so concurrent posting of the
-- same document is serialized. Only nomenclature of kind 'goods' moves stock.
-- Functions return the number of movements written (or removed).

-- migrate:up

CREATE FUNCTION post_goods_receipt(doc uuid) RETURNS integer
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    d goods_receipts%ROWTYPE;
    moved integer;
BEGIN
    SELECT * INTO d FROM goods_receipts WHERE id = doc FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'goods receipt % not found', doc USING ERRCODE = 'no_data_found';
    END IF;
    IF d.deletion_mark THEN
        RAISE EXCEPTION 'goods receipt % is marked for deletion and cannot be posted', doc
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    DELETE FROM stock_movements
    WHERE recorder_type = 'goods_receipt' AND recorder_id = doc;

    -- Stock is valued at the purchase amount of the line.
    INSERT INTO stock_movements
        (period, recorder_type, recorder_id, line_no, warehouse_id, nomenclature_id, quantity, amount)
    SELECT d.date, 'goods_receipt', doc, l.line_no, d.warehouse_id, l.nomenclature_id,
           l.quantity, l.amount
    FROM goods_receipt_lines l
    JOIN nomenclature i ON i.id = l.nomenclature_id
    WHERE l.document_id = doc AND i.kind = 'goods'
    ORDER BY l.line_no;
    GET DIAGNOSTICS moved = ROW_COUNT;

    UPDATE goods_receipts
    SET posted       = true,
        posted_at    = now(),
        total_amount = (SELECT coalesce(sum(amount), 0) FROM goods_receipt_lines WHERE document_id = doc)
    WHERE id = doc;

    RETURN moved;
END;
$$;

CREATE FUNCTION post_goods_issue(doc uuid) RETURNS integer
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    d goods_issues%ROWTYPE;
    moved integer;
BEGIN
    SELECT * INTO d FROM goods_issues WHERE id = doc FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'goods issue % not found', doc USING ERRCODE = 'no_data_found';
    END IF;
    IF d.deletion_mark THEN
        RAISE EXCEPTION 'goods issue % is marked for deletion and cannot be posted', doc
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    DELETE FROM stock_movements
    WHERE recorder_type = 'goods_issue' AND recorder_id = doc;

    -- Lock the balances we are about to read and change, in key order, so
    -- the average cost below cannot move under us and concurrent postings
    -- queue instead of deadlocking.
    PERFORM 1
    FROM stock_balances b
    WHERE b.warehouse_id = d.warehouse_id
      AND b.nomenclature_id IN (SELECT nomenclature_id FROM goods_issue_lines WHERE document_id = doc)
    ORDER BY b.nomenclature_id
    FOR UPDATE;

    -- Stock is credited at the current average cost (balance amount /
    -- balance quantity), not at the sale price of the line; with no stock on
    -- hand the cost is 0. Valuation is as of posting time, not as of d.date.
    INSERT INTO stock_movements
        (period, recorder_type, recorder_id, line_no, warehouse_id, nomenclature_id, quantity, amount)
    SELECT d.date, 'goods_issue', doc, l.line_no, d.warehouse_id, l.nomenclature_id,
           -l.quantity,
           -CASE WHEN b.quantity > 0 THEN round(b.amount * l.quantity / b.quantity, 2) ELSE 0 END
    FROM goods_issue_lines l
    JOIN nomenclature i ON i.id = l.nomenclature_id
    LEFT JOIN stock_balances b
           ON b.warehouse_id = d.warehouse_id AND b.nomenclature_id = l.nomenclature_id
    WHERE l.document_id = doc AND i.kind = 'goods'
    ORDER BY l.line_no;
    GET DIAGNOSTICS moved = ROW_COUNT;

    UPDATE goods_issues
    SET posted       = true,
        posted_at    = now(),
        total_amount = (SELECT coalesce(sum(amount), 0) FROM goods_issue_lines WHERE document_id = doc)
    WHERE id = doc;

    RETURN moved;
END;
$$;

CREATE FUNCTION post_inventory_count(doc uuid) RETURNS integer
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    d inventory_counts%ROWTYPE;
    moved integer;
BEGIN
    SELECT * INTO d FROM inventory_counts WHERE id = doc FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'inventory count % not found', doc USING ERRCODE = 'no_data_found';
    END IF;
    IF d.deletion_mark THEN
        RAISE EXCEPTION 'inventory count % is marked for deletion and cannot be posted', doc
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    DELETE FROM stock_movements
    WHERE recorder_type = 'inventory_count' AND recorder_id = doc;

    PERFORM 1
    FROM stock_balances b
    WHERE b.warehouse_id = d.warehouse_id
      AND b.nomenclature_id IN (SELECT nomenclature_id FROM inventory_count_lines WHERE document_id = doc)
    ORDER BY b.nomenclature_id
    FOR UPDATE;

    -- The difference (actual - book) is written as it was counted; surplus
    -- and shortage are both valued at the current average cost.
    INSERT INTO stock_movements
        (period, recorder_type, recorder_id, line_no, warehouse_id, nomenclature_id, quantity, amount)
    SELECT d.date, 'inventory_count', doc, l.line_no, d.warehouse_id, l.nomenclature_id,
           l.difference,
           CASE WHEN b.quantity > 0 THEN round(b.amount * l.difference / b.quantity, 2) ELSE 0 END
    FROM inventory_count_lines l
    JOIN nomenclature i ON i.id = l.nomenclature_id
    LEFT JOIN stock_balances b
           ON b.warehouse_id = d.warehouse_id AND b.nomenclature_id = l.nomenclature_id
    WHERE l.document_id = doc AND i.kind = 'goods' AND l.difference <> 0
    ORDER BY l.line_no;
    GET DIAGNOSTICS moved = ROW_COUNT;

    UPDATE inventory_counts
    SET posted = true, posted_at = now()
    WHERE id = doc;

    RETURN moved;
END;
$$;

-- recorder_type is one of the stock_movements.recorder_type values. The
-- parameter shares its name with the column, hence the qualified
-- unpost_document.recorder_type below.
CREATE FUNCTION unpost_document(recorder_type text, doc uuid) RETURNS integer
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    moved integer;
BEGIN
    CASE unpost_document.recorder_type
        WHEN 'goods_receipt' THEN
            PERFORM 1 FROM goods_receipts WHERE id = doc FOR UPDATE;
        WHEN 'goods_issue' THEN
            PERFORM 1 FROM goods_issues WHERE id = doc FOR UPDATE;
        WHEN 'inventory_count' THEN
            PERFORM 1 FROM inventory_counts WHERE id = doc FOR UPDATE;
        ELSE
            RAISE EXCEPTION 'unknown recorder type %', unpost_document.recorder_type
                USING ERRCODE = 'invalid_parameter_value';
    END CASE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% % not found', unpost_document.recorder_type, doc
            USING ERRCODE = 'no_data_found';
    END IF;

    DELETE FROM stock_movements m
    WHERE m.recorder_type = unpost_document.recorder_type AND m.recorder_id = doc;
    GET DIAGNOSTICS moved = ROW_COUNT;

    -- Only touch the header if it was posted: an unposted document keeps its
    -- version, so unposting twice does not break optimistic locking.
    CASE unpost_document.recorder_type
        WHEN 'goods_receipt' THEN
            UPDATE goods_receipts SET posted = false, posted_at = NULL WHERE id = doc AND posted;
        WHEN 'goods_issue' THEN
            UPDATE goods_issues SET posted = false, posted_at = NULL WHERE id = doc AND posted;
        WHEN 'inventory_count' THEN
            UPDATE inventory_counts SET posted = false, posted_at = NULL WHERE id = doc AND posted;
    END CASE;

    RETURN moved;
END;
$$;

-- migrate:down

DROP FUNCTION unpost_document(text, uuid);
DROP FUNCTION post_inventory_count(uuid);
DROP FUNCTION post_goods_issue(uuid);
DROP FUNCTION post_goods_receipt(uuid);
