-- What an exchange charges: the price difference of a replacement that costs more than the
-- units returned, paid through a provider session of its own. Apart from `attempts`, so
-- nothing that acts on an order's attempts (a retry superseding them, the order's end
-- expiring them, the payment marked paid) can reach an exchange's charge, nor it them.
-- Its capture goes in the order's ledger under its attempt id (purpose 'exchange').
CREATE TABLE exchange_charges (
    exchange_id     TEXT PRIMARY KEY,
    attempt_id      TEXT NOT NULL UNIQUE,
    order_id        TEXT NOT NULL REFERENCES payments (order_id),
    method          TEXT NOT NULL,
    provider        TEXT NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    currency        TEXT NOT NULL,
    pay_by          TIMESTAMPTZ,
    session_id      TEXT,
    checkout_url    TEXT,
    status          TEXT NOT NULL
                    CHECK (status IN ('pending', 'open', 'failed', 'succeeded', 'cancelled')),
    failure_reason  TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX exchange_charges_session ON exchange_charges (provider, session_id);
CREATE INDEX exchange_charges_order ON exchange_charges (order_id);
