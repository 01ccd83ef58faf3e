-- Backorders: an order placed while some of its units were out of stock holds what is
-- there (its reservations, fulfilment state `backordered`) and waits for the customer's
-- choice or the restock. state: open (the customer may choose until choose_by) | waiting
-- (served first come, first served by `queued_at`) | dropped | filled | cancelled.
-- `lines`: the lines short at placement, each {line_id, sku, name, variant, quantity
-- (units short at placement), held (units held at placement), filled (units a restock
-- has held since)}.
CREATE TABLE backorders (
    order_id TEXT PRIMARY KEY REFERENCES fulfilments (order_id),
    state TEXT NOT NULL CHECK (state IN ('open', 'waiting', 'dropped', 'filled', 'cancelled')),
    lines JSONB NOT NULL,
    skus TEXT[] NOT NULL,
    choose_by TIMESTAMPTZ NOT NULL,
    default_choice TEXT NOT NULL CHECK (default_choice IN ('ship_available', 'wait')),
    chosen_by TEXT CHECK (chosen_by IN ('customer', 'default')),
    queued_at TIMESTAMPTZ NOT NULL,
    settled_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- The queue a restock serves: open and waiting backorders of a SKU, oldest first.
CREATE INDEX backorders_queue ON backorders USING gin (skus) WHERE state IN ('open', 'waiting');

-- When operations expect a SKU back in stock (told in the backorder messages).
CREATE TABLE restock_dates (
    sku TEXT PRIMARY KEY,
    expected_on DATE NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Goods received, once per receipt id: a receipt sent again is answered as the first time.
CREATE TABLE stock_receipts (
    receipt_id TEXT PRIMARY KEY,
    sku TEXT NOT NULL,
    warehouse TEXT NOT NULL,
    quantity INT NOT NULL CHECK (quantity > 0),
    served JSONB NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
