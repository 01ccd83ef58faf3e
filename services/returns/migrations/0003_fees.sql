-- The order's postage (from OrderPlaced; 0 for orders placed before fees existed): it is
-- refunded only with the whole order, for the shop's reason.
ALTER TABLE orders ADD COLUMN shipping_fee BIGINT NOT NULL DEFAULT 0 CHECK (shipping_fee >= 0);

-- What the requests of an order ask for, refunded or on their way, never exceeds what was
-- paid: the rule the domain applies, held by the database as well.
CREATE FUNCTION refund_requests_within_paid() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    paid BIGINT;
    asked BIGINT;
BEGIN
    IF NEW.status IN ('rejected', 'refund_failed') THEN
        RETURN NEW;
    END IF;
    SELECT paid_amount INTO paid FROM orders WHERE order_id = NEW.order_id FOR UPDATE;
    SELECT coalesce(sum(amount), 0) INTO asked FROM refund_requests
        WHERE order_id = NEW.order_id AND id <> NEW.id
          AND status NOT IN ('rejected', 'refund_failed');
    IF asked + NEW.amount > coalesce(paid, 0) THEN
        RAISE EXCEPTION 'refund requests of % exceed the % paid for order %',
            asked + NEW.amount, coalesce(paid, 0), NEW.order_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER refund_requests_within_paid
    BEFORE INSERT OR UPDATE OF amount, status ON refund_requests
    FOR EACH ROW EXECUTE FUNCTION refund_requests_within_paid();

-- When the order was paid: a price drop is refunded by rule within a time after it.
ALTER TABLE orders ADD COLUMN paid_at TIMESTAMPTZ;

-- The catalogue's prices as logistics publishes them (PriceChanged), with the time each
-- took effect: a price-difference refund is checked against them.
CREATE TABLE price_history (
    sku         TEXT NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount >= 1),
    currency    TEXT NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (sku, changed_at)
);
