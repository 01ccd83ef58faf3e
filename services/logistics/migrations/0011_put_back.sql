-- A shipment stopped after its goods were picked (stage picked or packed) leaves them off
-- the shelf, in a tote or a parcel: the warehouse puts them back and says so (put_back_at).
-- Until then they are listed to put back (GET /v1/ops/put-back).
ALTER TABLE warehouse_steps ADD COLUMN put_back_at TIMESTAMPTZ;
CREATE INDEX warehouse_steps_to_put_back ON warehouse_steps (picked_at)
    WHERE stage IN ('picked', 'packed') AND put_back_at IS NULL;
