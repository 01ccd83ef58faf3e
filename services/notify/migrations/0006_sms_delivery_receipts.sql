-- What the SMS provider reported after taking a message (its delivery receipt): whether
-- it reached the phone, the provider's error code when it did not, and the provider's own
-- id for it. `status` stays the sender's (sent = the provider took it).
ALTER TABLE messages ADD COLUMN delivery_status TEXT
    CHECK (delivery_status IN ('sent', 'delivered', 'failed'));
ALTER TABLE messages ADD COLUMN delivery_error TEXT;
ALTER TABLE messages ADD COLUMN delivery_reported_at TIMESTAMPTZ;
ALTER TABLE messages ADD COLUMN provider TEXT;
ALTER TABLE messages ADD COLUMN provider_message_id TEXT;
