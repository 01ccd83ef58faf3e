-- Kuaidi100 ends a subscription with an `abort` push (three days without a record, sixty
-- without a change, or a courier code it corrected): the parcel is subscribed again, a
-- bounded number of times, and a corrected code (`comNew`) is the one asked from then on.
ALTER TABLE carrier_tracking ADD COLUMN company TEXT;  -- NULL: the courier's configured code
ALTER TABLE carrier_tracking ADD COLUMN resubscriptions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE carrier_tracking ADD COLUMN resubscribed_at TIMESTAMPTZ;
