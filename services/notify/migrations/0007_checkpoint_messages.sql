-- The parcel checkpoints the customer has been told of: one row per parcel and kind
-- (arrived_in_city, out_for_delivery, delivery_failed, delivered), claimed in the
-- transaction that records the message. A checkpoint reported again, late or out of
-- order (another event id, a carrier's second push, a replay) finds its row and tells
-- nothing; a later step told already silences the earlier ones.
CREATE TABLE checkpoint_messages (
    order_id TEXT NOT NULL,
    shipment_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_event_id TEXT NOT NULL,
    told_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (order_id, shipment_id, kind)
);
