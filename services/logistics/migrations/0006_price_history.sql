-- The catalogue's selling prices, every change kept with the time it took effect. The
-- current price of a SKU is its latest row; each change is published as PriceChanged.
CREATE TABLE price_history (
    sku         TEXT NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount >= 1),
    currency    TEXT NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (sku, changed_at)
);
