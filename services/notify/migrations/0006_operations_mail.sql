-- Operations mail (services/notify/ops.py): a message to staff is about no order.
ALTER TABLE messages ALTER COLUMN order_id DROP NOT NULL;

-- The last low-stock mail of each SKU: a warning within the quiet period after it (the
-- same shortage warned again) mails nothing.
CREATE TABLE stock_warnings (
    sku              TEXT PRIMARY KEY,
    mailed_at        TIMESTAMPTZ NOT NULL,   -- when the warning that mailed happened
    source_event_id  TEXT NOT NULL
);
