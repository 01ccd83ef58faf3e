-- One row per order payment knows about: what is due, by when, and how it ended.
CREATE TABLE payments (
    order_id         TEXT PRIMARY KEY,
    method           TEXT NOT NULL,
    amount           BIGINT NOT NULL CHECK (amount >= 0),
    currency         TEXT NOT NULL,
    payment_due_at   TIMESTAMPTZ,
    paid_attempt_id  TEXT,
    ended            TEXT CHECK (ended IN ('closed', 'cancelled')),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Each payment request opened with a provider (the first on OrderPlaced, more on retry).
CREATE TABLE attempts (
    attempt_id      TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL REFERENCES payments (order_id),
    number          INT NOT NULL,
    method          TEXT NOT NULL,
    provider        TEXT NOT NULL,
    session_id      TEXT,
    checkout_url    TEXT,
    pay_link        TEXT,
    status          TEXT NOT NULL
                    CHECK (status IN ('open', 'failed', 'succeeded', 'superseded', 'expired')),
    failure_reason  TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (order_id, number)
);
CREATE UNIQUE INDEX attempts_session ON attempts (provider, session_id);

-- Provider callbacks already applied: a replayed callback has no second effect.
CREATE TABLE provider_events (
    provider     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    effect       TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);

-- Refunds: approved by returns (refund_request_id) or automatic for a late or
-- duplicate charge (charge_attempt_id). Each refunds one charge, once. An
-- approval that could not be paid at all is kept as failed, so a repeat is known.
CREATE TABLE refunds (
    refund_id          TEXT PRIMARY KEY,
    order_id           TEXT NOT NULL,
    refund_request_id  TEXT UNIQUE,
    charge_attempt_id  TEXT,
    reason             TEXT NOT NULL,
    requested_amount   BIGINT NOT NULL CHECK (requested_amount >= 0),
    amount             BIGINT NOT NULL CHECK (amount >= 0),
    currency           TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed')),
    attempts           INT NOT NULL DEFAULT 0,
    last_error         TEXT,
    provider_reference TEXT,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX refunds_one_automatic_per_charge
    ON refunds (charge_attempt_id) WHERE refund_request_id IS NULL;

-- Every money movement, in minor units. captured - refunded = net, per order.
CREATE TABLE ledger (
    entry_id            TEXT PRIMARY KEY,
    order_id            TEXT NOT NULL REFERENCES payments (order_id),
    kind                TEXT NOT NULL CHECK (kind IN ('charge', 'refund')),
    purpose             TEXT NOT NULL,
    amount              BIGINT NOT NULL CHECK (amount > 0),
    currency            TEXT NOT NULL,
    attempt_id          TEXT NOT NULL,
    refund_id           TEXT,
    provider            TEXT NOT NULL,
    provider_reference  TEXT NOT NULL,
    recorded_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_order ON ledger (order_id, recorded_at);
-- One charge per order counts as its payment; one charge per attempt; one entry per refund.
CREATE UNIQUE INDEX ledger_one_payment_per_order
    ON ledger (order_id) WHERE kind = 'charge' AND purpose = 'payment';
CREATE UNIQUE INDEX ledger_one_charge_per_attempt ON ledger (attempt_id) WHERE kind = 'charge';
CREATE UNIQUE INDEX ledger_one_entry_per_refund ON ledger (refund_id) WHERE kind = 'refund';

-- A charge is never refunded beyond what it captured.
CREATE FUNCTION ledger_refund_within_charge() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    charged BIGINT;
    refunded BIGINT;
BEGIN
    IF NEW.kind <> 'refund' THEN
        RETURN NEW;
    END IF;
    SELECT coalesce(sum(amount), 0) INTO charged FROM ledger
        WHERE attempt_id = NEW.attempt_id AND kind = 'charge';
    SELECT coalesce(sum(amount), 0) INTO refunded FROM ledger
        WHERE attempt_id = NEW.attempt_id AND kind = 'refund';
    IF refunded + NEW.amount > charged THEN
        RAISE EXCEPTION 'refund of % exceeds what is left of charge % (% of %)',
            NEW.amount, NEW.attempt_id, charged - refunded, charged;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER ledger_refund_within_charge BEFORE INSERT ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_refund_within_charge();
