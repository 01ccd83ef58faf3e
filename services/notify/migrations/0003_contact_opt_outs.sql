-- Opting out by contact (a guest has no customer id): the phone or email, hashed once
-- normalised (services/notify/domain.py contact_key), never stored in clear here.
CREATE TABLE contact_opt_outs (
    contact_key   TEXT PRIMARY KEY,
    channel       TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    source        TEXT NOT NULL CHECK (source IN ('email_link', 'sms_keyword')),
    opted_out_at  TIMESTAMPTZ NOT NULL
);

-- A non-essential message for an opted-out contact is recorded as skipped, with why.
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'cancelled', 'skipped'));
ALTER TABLE messages ADD COLUMN skip_reason TEXT;
-- The one-click unsubscribe address a non-essential email carries (List-Unsubscribe).
ALTER TABLE messages ADD COLUMN unsubscribe_url TEXT;
