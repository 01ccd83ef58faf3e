-- An order's parcels (services/order/domain/parcels.py), keyed by shipment id: each one's
-- number of how many, warehouse, goods, courier, tracking number, when it shipped, was
-- delivered or turned back, and the carrier's last word on it. `shipment` stays: the
-- parcel older readers show.
ALTER TABLE orders ADD COLUMN parcels JSONB NOT NULL DEFAULT '{}'::jsonb;

-- What orders already hold: a shipped order is one parcel, the shipment it shows.
UPDATE orders SET parcels = jsonb_build_object(shipment ->> 'shipment_id', shipment)
    WHERE shipment ->> 'shipment_id' IS NOT NULL;
