-- Parcels a real carrier (Kuaidi100) tracks for us: its label, when its subscription was
-- taken, when it last pushed and when we last asked (the polling fallback reads the
-- silent ones). phone_tail is the recipient's last four digits, which SF asks for.
CREATE TABLE carrier_tracking (
    shipment_id TEXT PRIMARY KEY REFERENCES shipments (shipment_id),
    courier TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    label_url TEXT,
    phone_tail TEXT,
    subscribed_at TIMESTAMPTZ,
    last_push_at TIMESTAMPTZ,
    last_polled_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (courier, tracking_number)
);
-- the poller's read: parcels heard from (pushed or polled) longest ago first
CREATE INDEX carrier_tracking_heard ON carrier_tracking
    ((greatest(coalesce(last_push_at, created_at), coalesce(last_polled_at, created_at))));

-- The phone of the order's contact: a courier printing the label (Kuaidi100) needs the
-- recipient's mobile, and the address often has none.
ALTER TABLE fulfilments ADD COLUMN phone TEXT;
