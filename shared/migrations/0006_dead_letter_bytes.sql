-- A dead letter keeps the bytes it arrived with (key, value, headers), so that once its
-- cause is fixed operations can replay it in the service that set it aside, and a status:
-- pending until it is replayed successfully or discarded with a reason.
ALTER TABLE dead_letters
    ADD COLUMN key            BYTEA,
    ADD COLUMN value          BYTEA,
    ADD COLUMN header_names   TEXT[],
    ADD COLUMN header_values  BYTEA[],
    ADD COLUMN status         TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'replayed', 'discarded')),
    ADD COLUMN updated_at     TIMESTAMPTZ NOT NULL DEFAULT now();
CREATE INDEX dead_letters_status ON dead_letters (status, created_at);

-- Every action operations took on a dead letter: who (the key's role and the actor's
-- name), when, what, and how it ended.
CREATE TABLE dead_letter_actions (
    id              BIGSERIAL PRIMARY KEY,
    dead_letter_id  BIGINT NOT NULL REFERENCES dead_letters (id),
    action          TEXT NOT NULL CHECK (action IN ('replay', 'discard')),
    role            TEXT NOT NULL,
    actor           TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    detail          TEXT,
    at              TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX dead_letter_actions_letter ON dead_letter_actions (dead_letter_id, at);
