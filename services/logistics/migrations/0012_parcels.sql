-- Several parcels per order: the goods an order holds in several warehouses leave as
-- several parcels, one shipment each, from its `warehouse`, carrying its own goods (`lines`,
-- the order's lines with this parcel's quantities; NULL: all of the order's, as every
-- shipment opened before parcels), told as parcel `parcel_number` of `parcel_count`.
ALTER TABLE shipments DROP CONSTRAINT shipments_order_id_key;
CREATE INDEX shipments_by_order ON shipments (order_id);
ALTER TABLE shipments
    ADD COLUMN warehouse TEXT,
    ADD COLUMN lines JSONB,
    ADD COLUMN parcel_number INT NOT NULL DEFAULT 1 CHECK (parcel_number >= 1),
    ADD COLUMN parcel_count INT NOT NULL DEFAULT 1,
    ADD CONSTRAINT shipments_parcel_in_count CHECK (parcel_number <= parcel_count);

-- Which parcel takes each reserved row (NULL: reserved before parcels, the order's only
-- shipment takes it) and whether the units left with it: a parcel consumes its own rows,
-- and the order is shipped once none is left behind.
ALTER TABLE reservations
    ADD COLUMN shipment_id TEXT REFERENCES shipments (shipment_id),
    ADD COLUMN shipped BOOLEAN NOT NULL DEFAULT false;
