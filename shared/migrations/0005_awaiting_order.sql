-- Events about an order this service had not heard of when they arrived (they came on
-- another topic ahead of the event that introduces the order): handled, in the order
-- they happened, once it arrives. See shared/held.py.
CREATE TABLE awaiting_order (
    event_id     TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    envelope     JSONB NOT NULL,
    topic        TEXT NOT NULL,
    partition    INT NOT NULL,
    "offset"     BIGINT NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX awaiting_order_order ON awaiting_order (order_id, occurred_at);
CREATE INDEX awaiting_order_received ON awaiting_order (received_at);
