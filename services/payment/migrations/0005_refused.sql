-- A cash-on-delivery order whose parcel was refused at the door (or undeliverable) ends
-- `refused`: nothing was charged and nothing is owed.
ALTER TABLE payments DROP CONSTRAINT payments_ended_check;
ALTER TABLE payments ADD CONSTRAINT payments_ended_check
    CHECK (ended IN ('closed', 'cancelled', 'refused'));
