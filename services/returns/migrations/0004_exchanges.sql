-- Exchanges: units of a delivered line swapped for another variant of the same product.
-- A row is requested, then accepted (the replacement reserved and priced) or refused;
-- an accepted one is released (it may ship), then shipped, or cancelled (unpaid).
CREATE TABLE exchanges (
    id                       TEXT PRIMARY KEY,
    order_id                 TEXT NOT NULL,
    idempotency_key          TEXT,
    reason                   TEXT NOT NULL,
    status                   TEXT NOT NULL CHECK (status IN (
                                 'requested', 'accepted', 'refused', 'released', 'shipped',
                                 'cancelled')),
    line_id                  TEXT NOT NULL,
    sku                      TEXT NOT NULL,
    quantity                 INT NOT NULL CHECK (quantity >= 1),
    -- what was paid for the units returned, after their share of the discount
    returned_value           BIGINT NOT NULL CHECK (returned_value >= 0),
    currency                 TEXT NOT NULL,
    replacement_sku          TEXT NOT NULL,
    return_shipping_paid_by  TEXT NOT NULL CHECK (return_shipping_paid_by IN ('customer', 'shop')),
    requested_by             TEXT NOT NULL,
    -- once reserved: the replacement as logistics holds it and what it costs more (> 0,
    -- charged) or less (< 0, refunded) than the units returned
    replacement              JSONB,
    warehouse                TEXT,
    difference               BIGINT,
    settlement               TEXT CHECK (settlement IN ('charge', 'refund', 'none')),
    ships                    TEXT CHECK (ships IN ('on_return', 'at_once')),
    pay_by                   TIMESTAMPTZ,
    paid_at                  TIMESTAMPTZ,
    paid_amount              BIGINT,
    return_courier           TEXT,
    return_tracking_number   TEXT,
    return_shipped_at        TIMESTAMPTZ,
    return_received_at       TIMESTAMPTZ,
    released_at              TIMESTAMPTZ,
    shipment                 JSONB,            -- courier, tracking number, shipped_at
    outcome_reason           TEXT,             -- why it was refused or cancelled
    outcome_message          TEXT,
    refund_request_id        TEXT,             -- the refund it opened (difference, or units back)
    created_at               TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL,
    UNIQUE (order_id, idempotency_key)
);
CREATE INDEX exchanges_order ON exchanges (order_id, created_at);
-- One open exchange per line at a time (open refund requests are refused by the domain
-- under the order's lock, as are exchanges on a line with an open request).
CREATE UNIQUE INDEX one_open_exchange_per_line ON exchanges (order_id, line_id)
    WHERE status IN ('requested', 'accepted', 'released');

-- The audit trail of exchanges: who did what, when.
CREATE TABLE exchange_steps (
    id           BIGSERIAL PRIMARY KEY,
    exchange_id  TEXT NOT NULL REFERENCES exchanges (id),
    actor        TEXT NOT NULL CHECK (actor IN ('customer', 'operations', 'rule', 'system')),
    action       TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    details      JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX exchange_steps_exchange ON exchange_steps (exchange_id, id);

-- What the customer paid for exchanges' differences (ExchangePaymentSucceeded), once per
-- exchange: part of what the order's refunds may give back.
ALTER TABLE orders ADD COLUMN exchange_paid BIGINT NOT NULL DEFAULT 0 CHECK (exchange_paid >= 0);

CREATE OR REPLACE FUNCTION refund_requests_within_paid() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    paid BIGINT;
    asked BIGINT;
BEGIN
    IF NEW.status IN ('rejected', 'refund_failed') THEN
        RETURN NEW;
    END IF;
    SELECT paid_amount + exchange_paid INTO paid FROM orders
        WHERE order_id = NEW.order_id FOR UPDATE;
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
