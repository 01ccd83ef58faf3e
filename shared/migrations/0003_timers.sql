-- Durable timers: a due time stored with the service's state. The poller fires
-- each due timer in a transaction of its own, whose effects (events) go through
-- the outbox; a failing timer is retried with backoff and finally marked failed.
CREATE TABLE timers (
    id              BIGSERIAL PRIMARY KEY,
    kind            TEXT NOT NULL,
    key             TEXT NOT NULL,
    due_at          TIMESTAMPTZ NOT NULL,
    payload         JSONB NOT NULL DEFAULT '{}',
    correlation_id  TEXT,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'fired', 'cancelled', 'failed')),
    attempts        INT NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    fired_at        TIMESTAMPTZ,
    UNIQUE (kind, key)
);
CREATE INDEX timers_due ON timers (due_at) WHERE state = 'pending';
