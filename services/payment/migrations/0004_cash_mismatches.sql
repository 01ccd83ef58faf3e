-- Cash on delivery: a courier's collection that differed from what the order owed, for
-- operations. One per order: a report read twice flags it once.
CREATE TABLE cash_mismatches (
    order_id         TEXT PRIMARY KEY REFERENCES payments (order_id),
    attempt_id       TEXT NOT NULL,
    shipment_id      TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('short', 'over', 'wrong_currency')),
    due_amount       BIGINT NOT NULL,
    due_currency     TEXT NOT NULL,
    collected_amount BIGINT NOT NULL,
    collected_currency TEXT NOT NULL,
    delivered_at     TIMESTAMPTZ NOT NULL,
    recorded_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX cash_mismatches_recorded ON cash_mismatches (recorded_at DESC);
