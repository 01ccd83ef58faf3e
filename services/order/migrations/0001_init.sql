-- Orders: the order's state, the facts it has applied, and what the customer sees.
CREATE TABLE orders (
    order_id                TEXT PRIMARY KEY,
    customer_id             TEXT,
    stage                   TEXT NOT NULL,
    cancellation_requested  BOOLEAN NOT NULL DEFAULT false,
    ended_reason            TEXT,
    currency                TEXT NOT NULL,
    total_amount            BIGINT NOT NULL CHECK (total_amount >= 0),
    paid_amount             BIGINT NOT NULL DEFAULT 0 CHECK (paid_amount >= 0),
    refunded_amount         BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
    payment_method          TEXT NOT NULL,
    payment_status          TEXT NOT NULL,
    payment_due_at          TIMESTAMPTZ,
    paid_at                 TIMESTAMPTZ,
    promised_ship_date      DATE,
    locale                  TEXT NOT NULL,
    time_zone               TEXT NOT NULL,
    lines                   JSONB NOT NULL,
    contact                 JSONB NOT NULL,
    address                 JSONB NOT NULL,
    gift_message            TEXT,
    payment                 JSONB NOT NULL DEFAULT '{}',
    shipment                JSONB,
    refunds                 JSONB NOT NULL DEFAULT '{}',
    applied                 JSONB NOT NULL DEFAULT '[]',
    placed_at               TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX orders_by_customer ON orders (customer_id, placed_at DESC, order_id DESC)
    WHERE customer_id IS NOT NULL;

-- Every step the customer sees, once each (entry_key names the fact).
CREATE TABLE order_timeline (
    seq         BIGSERIAL PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES orders (order_id),
    entry_key   TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    kind        TEXT NOT NULL,
    details     JSONB NOT NULL DEFAULT '{}',
    UNIQUE (order_id, entry_key)
);
CREATE INDEX order_timeline_by_time ON order_timeline (order_id, at, seq);

-- A retried placement with the same Idempotency-Key answers with the same order.
CREATE TABLE idempotency_keys (
    key           TEXT PRIMARY KEY,
    request_hash  TEXT NOT NULL,
    order_id      TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
