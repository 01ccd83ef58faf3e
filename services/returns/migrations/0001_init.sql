-- What returns knows of each order, built from other services' events. Facts are
-- upserted in whatever order they arrive; a column stays NULL until its fact does.
CREATE TABLE orders (
    order_id            TEXT PRIMARY KEY,
    currency            TEXT,
    total               BIGINT,
    lines               JSONB,
    paid_amount         BIGINT NOT NULL DEFAULT 0,
    promised_ship_date  DATE,
    shipped_at          TIMESTAMPTZ,
    delivered_at        TIMESTAMPTZ,
    ended               TEXT,             -- closed, cancelled, cancellation_requested
    auto_refund_reason  TEXT,             -- a paid order cancelled before its payment was seen
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Refunds the payment service paid, one row per refund (RefundPaid), for requests only.
CREATE TABLE refunds (
    refund_id           TEXT PRIMARY KEY,
    order_id            TEXT NOT NULL,
    refund_request_id   TEXT NOT NULL,
    amount              BIGINT NOT NULL,
    currency            TEXT NOT NULL,
    paid_at             TIMESTAMPTZ NOT NULL
);
CREATE INDEX refunds_order ON refunds (order_id);

CREATE TABLE refund_requests (
    id                       TEXT PRIMARY KEY,
    order_id                 TEXT NOT NULL,
    idempotency_key          TEXT,
    flow                     TEXT NOT NULL,
    reason                   TEXT NOT NULL,
    status                   TEXT NOT NULL CHECK (status IN (
                                 'requested', 'return_shipped', 'approved',
                                 'refunded', 'rejected', 'refund_failed')),
    amount                   BIGINT NOT NULL CHECK (amount > 0),
    currency                 TEXT NOT NULL,
    lines                    JSONB NOT NULL DEFAULT '[]',
    return_shipping_paid_by  TEXT,
    evidence_urls            JSONB NOT NULL DEFAULT '[]',
    return_courier           TEXT,
    return_tracking_number   TEXT,
    rejection_reason         TEXT,
    requested_by             TEXT NOT NULL,
    rule_due_at              TIMESTAMPTZ,
    created_at               TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL,
    UNIQUE (order_id, idempotency_key)
);
CREATE INDEX refund_requests_order ON refund_requests (order_id, created_at);
CREATE INDEX refund_requests_return_tracking ON refund_requests (order_id, return_tracking_number)
    WHERE return_tracking_number IS NOT NULL;

-- The lines a request concerns. One open request per line at a time, enforced here.
CREATE TABLE refund_request_lines (
    request_id  TEXT NOT NULL REFERENCES refund_requests (id),
    order_id    TEXT NOT NULL,
    line_id     TEXT NOT NULL,
    sku         TEXT NOT NULL,
    quantity    INT NOT NULL CHECK (quantity >= 1),
    open        BOOLEAN NOT NULL DEFAULT true,
    PRIMARY KEY (request_id, line_id)
);
CREATE UNIQUE INDEX one_open_request_per_line ON refund_request_lines (order_id, line_id)
    WHERE open;

-- The audit trail: every step of every request, who did it, what and when.
CREATE TABLE refund_request_steps (
    id          BIGSERIAL PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES refund_requests (id),
    actor       TEXT NOT NULL CHECK (actor IN ('customer', 'operations', 'rule', 'system')),
    action      TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    details     JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX refund_request_steps_request ON refund_request_steps (request_id, id);
