-- The warehouse's steps of a shipment (LOGISTICS_WAREHOUSE_STEPS): a row from the moment a
-- paid order's shipment waits on the pick list. stage: to_pick | picked | packed |
-- handed_over, only forward; only the hand-over books the courier. A shipment without a
-- row was opened without warehouse steps (booked at dispatch).
CREATE TABLE warehouse_steps (
    shipment_id TEXT PRIMARY KEY REFERENCES shipments (shipment_id),
    stage TEXT NOT NULL,
    entered_at TIMESTAMPTZ NOT NULL,
    picked_at TIMESTAMPTZ,
    packed_at TIMESTAMPTZ,
    handed_over_at TIMESTAMPTZ,
    weight_grams INT CHECK (weight_grams > 0),
    parcels INT CHECK (parcels >= 1)
);
-- the pick list's read: what still waits in the warehouse
CREATE INDEX warehouse_steps_waiting ON warehouse_steps (stage) WHERE stage <> 'handed_over';

-- What the packing slip shows of the order: the customer's gift message and the language
-- the order was placed in (the slip's return instructions are written in it).
ALTER TABLE fulfilments
    ADD COLUMN gift_message TEXT,
    ADD COLUMN locale TEXT;
