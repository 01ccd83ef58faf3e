-- Every consumed message, recorded in the same transaction as its effects, so
-- a redelivered or replayed message has no second effect. Messages that could
-- not be decoded are keyed by their position (topic:partition:offset).
CREATE TABLE inbox (
    message_id   TEXT PRIMARY KEY,
    topic        TEXT NOT NULL,
    partition    INT NOT NULL,
    "offset"     BIGINT NOT NULL,
    event_type   TEXT,
    outcome      TEXT NOT NULL CHECK (outcome IN ('handled', 'dead_lettered')),
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX inbox_received_at ON inbox (received_at);

-- What this service set aside on its dead-letter topic, for operations to query.
CREATE TABLE dead_letters (
    id               BIGSERIAL PRIMARY KEY,
    message_id       TEXT NOT NULL,
    topic            TEXT NOT NULL,
    partition        INT NOT NULL,
    "offset"         BIGINT NOT NULL,
    event_type       TEXT,
    reason           TEXT NOT NULL,
    error            TEXT NOT NULL,
    attempts         INT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
