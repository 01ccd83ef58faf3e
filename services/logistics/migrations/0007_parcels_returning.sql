-- A parcel refused at the door or undeliverable goes back to the shop: `returning` while
-- on its way back (still tracked, so the courier's report of its arrival is heard), then
-- `returned` at the shop, when it was received back (`returned_at`).
-- status: pending | shipped | in_transit | out_for_delivery | delivered | cancelled
--         | returning | returned
ALTER TABLE shipments ADD COLUMN returned_at TIMESTAMPTZ;

-- the parcels the trackers follow: a returning one too
DROP INDEX shipments_open;
CREATE INDEX shipments_open ON shipments (status)
    WHERE status IN ('shipped', 'in_transit', 'out_for_delivery', 'returning');
