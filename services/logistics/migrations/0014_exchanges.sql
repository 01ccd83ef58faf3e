-- Exchanges: units of a delivered line swapped for another variant of the same product.
-- The replacement is held for the exchange (state `held`, its units counted in the stock
-- row's `reserved`, as an order's are), then shipped in a parcel of its own (`shipping`
-- while the courier's booking is made, `shipped` once it took the parcel, its units off
-- the shelf), or given back when the exchange is cancelled (`released`). `unavailable`:
-- refused (`reason`), nothing held. `replacement`: the ExchangeItem told (JSON).
CREATE TABLE exchanges (
    exchange_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES fulfilments (order_id),
    state TEXT NOT NULL CHECK (state IN ('unavailable', 'held', 'released', 'shipping', 'shipped')),
    reason TEXT,
    sku TEXT NOT NULL,
    warehouse TEXT,
    quantity INT NOT NULL CHECK (quantity > 0),
    replacement JSONB,
    shipment_id TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (state = 'unavailable' OR (warehouse IS NOT NULL AND replacement IS NOT NULL))
);
-- The units exchanges hold on a stock row (a count keeps them first).
CREATE INDEX exchanges_holding ON exchanges (sku, warehouse) WHERE state IN ('held', 'shipping');

-- An exchange's parcel is a shipment of the order's, marked with its exchange: it is
-- tracked as any parcel, but never one of the order's parcels (not listed with them, no
-- promise, delay or order fact told of it).
ALTER TABLE shipments ADD COLUMN exchange_id TEXT UNIQUE;
ALTER TABLE exchanges ADD CONSTRAINT exchanges_shipment
    FOREIGN KEY (shipment_id) REFERENCES shipments (shipment_id);
