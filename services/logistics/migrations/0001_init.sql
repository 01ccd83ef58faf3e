-- Stock per SKU and warehouse. `reserved` never exceeds `on_hand`: no overselling.
CREATE TABLE stock (
    sku TEXT NOT NULL,
    warehouse TEXT NOT NULL,
    name TEXT,
    variant TEXT,
    on_hand INT NOT NULL CHECK (on_hand >= 0),
    reserved INT NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),
    low_stock_threshold INT NOT NULL DEFAULT 0 CHECK (low_stock_threshold >= 0),
    low_stock_warned BOOLEAN NOT NULL DEFAULT false,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (sku, warehouse)
);

-- What logistics knows of each order. state: reserved | short | shipped | released | cancelled
CREATE TABLE fulfilments (
    order_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    payment_method TEXT,
    lines JSONB,
    address JSONB,
    total JSONB,
    correlation_id TEXT,
    placed_at TIMESTAMPTZ,
    paid_at TIMESTAMPTZ,
    promised_ship_date DATE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The units held for an order, per warehouse (kept after release for returns).
CREATE TABLE reservations (
    order_id TEXT NOT NULL REFERENCES fulfilments (order_id),
    sku TEXT NOT NULL,
    warehouse TEXT NOT NULL,
    quantity INT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, sku, warehouse)
);

-- status: pending | shipped | ... ; expected_date is the expected ship date while pending,
-- then the expected delivery date.
-- status: pending | shipped | in_transit | out_for_delivery | delivered | cancelled
CREATE TABLE shipments (
    shipment_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL UNIQUE REFERENCES fulfilments (order_id),
    status TEXT NOT NULL,
    courier TEXT NOT NULL,
    tracking_number TEXT,
    cash_on_delivery JSONB,
    promised_ship_date DATE NOT NULL,
    expected_date DATE NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    shipped_at TIMESTAMPTZ,
    delivered_at TIMESTAMPTZ,
    last_checkpoint_at TIMESTAMPTZ,
    UNIQUE (courier, tracking_number)
);
CREATE INDEX shipments_open ON shipments (status) WHERE status IN ('shipped', 'in_transit', 'out_for_delivery');

-- Every tracking checkpoint a courier reported, deduplicated by its id.
CREATE TABLE checkpoints (
    courier TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    shipment_id TEXT NOT NULL REFERENCES shipments (shipment_id),
    checkpoint_at TIMESTAMPTZ NOT NULL,
    city TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (courier, checkpoint_id)
);
CREATE INDEX checkpoints_by_shipment ON checkpoints (shipment_id, checkpoint_at);

-- Returns already put back on the shelf (a return is restocked once).
CREATE TABLE restocks (
    refund_request_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    restocked_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE SEQUENCE courier_rotation;
