-- The courier the customer chose at checkout, where the shop offers a choice, and the
-- surcharge it added to the shipping fee (shipping_fee includes it).
ALTER TABLE orders
    ADD COLUMN courier      TEXT,
    ADD COLUMN courier_fee  BIGINT NOT NULL DEFAULT 0 CHECK (courier_fee >= 0);
