-- The notify service's read model of each order, its messages and customer preferences.

-- What notify knows of an order: its OrderPlaced (contact, locale, time zone,
-- lines, order_url, payment window) and where its payment stands.
CREATE TABLE orders (
    order_id        TEXT PRIMARY KEY,
    customer_id     TEXT,
    placed          JSONB NOT NULL,
    placed_at       TIMESTAMPTZ NOT NULL,
    payment_due_at  TIMESTAMPTZ,
    variant         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'awaiting_payment',
    reminders       INT NOT NULL DEFAULT 0,
    paid_at         TIMESTAMPTZ,
    converted       BOOLEAN NOT NULL DEFAULT false,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Events that arrived before their order's OrderPlaced: rendered when it arrives.
CREATE TABLE held_events (
    event_id     TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    envelope     JSONB NOT NULL,
    topic        TEXT NOT NULL,
    partition    INT NOT NULL,
    "offset"     BIGINT NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX held_events_order ON held_events (order_id, occurred_at);

CREATE TABLE preferences (
    customer_id        TEXT PRIMARY KEY,
    email              BOOLEAN NOT NULL,
    sms                BOOLEAN NOT NULL,
    marketing_opt_out  BOOLEAN NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);

-- One row per message: at most one per (source event, template, channel), ever.
CREATE TABLE messages (
    id               TEXT PRIMARY KEY,
    seq              BIGINT GENERATED ALWAYS AS IDENTITY,  -- recording order, internal only
    order_id         TEXT NOT NULL,
    source_event_id  TEXT NOT NULL,
    source_type      TEXT NOT NULL,
    template         TEXT NOT NULL,
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    locale           TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    subject          TEXT,
    body_text        TEXT NOT NULL,
    body_html        TEXT,
    variant          TEXT,
    correlation_id   TEXT,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    send_after       TIMESTAMPTZ NOT NULL,
    claimed_until    TIMESTAMPTZ,
    attempts         INT NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at          TIMESTAMPTZ,
    failed_at        TIMESTAMPTZ,
    UNIQUE (source_event_id, template, channel)
);
CREATE INDEX messages_due ON messages (send_after) WHERE status = 'pending';
CREATE INDEX messages_order ON messages (order_id, seq);
CREATE INDEX messages_reminders ON messages (variant) WHERE template = 'payment_reminder';
