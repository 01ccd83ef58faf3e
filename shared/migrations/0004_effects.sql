-- Calls with an effect outside our databases (a refund, a payment session, a carrier
-- booking): recorded in the transaction that decided them, made after its commit by
-- the effects worker, with `key` as the idempotency key, retried with backoff and
-- finally marked done or failed. A rolled-back transaction leaves no row, so no call.
CREATE TABLE effects (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT NOT NULL,
    key              TEXT NOT NULL,
    payload          JSONB NOT NULL DEFAULT '{}',
    correlation_id   TEXT,
    causation_id     TEXT,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'done', 'failed')),
    attempts         INT NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed_until    TIMESTAMPTZ,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (kind, key)
);
CREATE INDEX effects_due ON effects (next_attempt_at) WHERE status = 'pending';

CREATE FUNCTION effects_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('effects', '');
    RETURN NULL;
END $$;

CREATE TRIGGER effects_notify AFTER INSERT ON effects
    FOR EACH STATEMENT EXECUTE FUNCTION effects_notify();
