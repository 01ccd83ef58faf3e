-- Beyond each charge (ledger_refund_within_charge), an order's refunds together never
-- exceed what the order's charges captured, whichever charge they refund.
CREATE FUNCTION ledger_refunds_within_order() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    charged BIGINT;
    refunded BIGINT;
BEGIN
    IF NEW.kind <> 'refund' THEN
        RETURN NEW;
    END IF;
    PERFORM 1 FROM payments WHERE order_id = NEW.order_id FOR UPDATE;
    SELECT coalesce(sum(amount), 0) INTO charged FROM ledger
        WHERE order_id = NEW.order_id AND kind = 'charge';
    SELECT coalesce(sum(amount), 0) INTO refunded FROM ledger
        WHERE order_id = NEW.order_id AND kind = 'refund';
    IF refunded + NEW.amount > charged THEN
        RAISE EXCEPTION 'refunds of % exceed the % captured for order %',
            refunded + NEW.amount, charged, NEW.order_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER ledger_refunds_within_order BEFORE INSERT ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_refunds_within_order();
