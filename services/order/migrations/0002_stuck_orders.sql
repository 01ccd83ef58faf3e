-- Stuck orders (services/order/domain/stuck.py): where each stage's clock starts, written
-- with the order on every save (NULL when the stage does not apply), so that the periodic
-- check finds a stage's stuck orders through one small partial index.
ALTER TABLE orders
    ADD COLUMN awaiting_request_since TIMESTAMPTZ,  -- placed, payment not yet requested
    ADD COLUMN ship_by                TIMESTAMPTZ,  -- awaiting shipping: the promise's end
    ADD COLUMN silent_since           TIMESTAMPTZ,  -- shipped: the carrier's last word
    ADD COLUMN refund_waiting_since   TIMESTAMPTZ;  -- the oldest unanswered refund request

-- What orders already hold: the carrier's last word in transit comes from the timeline.
UPDATE orders o SET shipment = o.shipment || jsonb_build_object('tracked_at', t.last_at)
    FROM (SELECT order_id, max(at) AS last_at FROM order_timeline
          WHERE kind IN ('shipped', 'checkpoint', 'out_for_delivery', 'delivered')
          GROUP BY order_id) t
    WHERE t.order_id = o.order_id AND o.shipment IS NOT NULL;

UPDATE orders SET
    awaiting_request_since = CASE WHEN stage = 'placed' AND payment = '{}'::jsonb
                                  THEN placed_at END,
    ship_by = CASE WHEN promised_ship_date IS NOT NULL
                    AND (stage = 'paid' OR (stage = 'placed'
                                            AND payment_method = 'cash_on_delivery'))
                   THEN (promised_ship_date + 1)::timestamp AT TIME ZONE time_zone END,
    silent_since = CASE WHEN stage = 'shipped'
                        THEN coalesce(shipment ->> 'tracked_at', shipment ->> 'shipped_at')
                             ::timestamptz END,
    refund_waiting_since = (SELECT min((r.value ->> 'updated_at')::timestamptz)
                            FROM jsonb_each(refunds) r
                            WHERE r.value ->> 'status' = 'requested')
    WHERE stage NOT IN ('completed', 'cancelled', 'closed') OR refunds <> '{}'::jsonb;

CREATE INDEX orders_awaiting_request ON orders (awaiting_request_since)
    WHERE awaiting_request_since IS NOT NULL;
CREATE INDEX orders_ship_by ON orders (ship_by) WHERE ship_by IS NOT NULL;
CREATE INDEX orders_silent ON orders (silent_since) WHERE silent_since IS NOT NULL;
CREATE INDEX orders_refund_waiting ON orders (refund_waiting_since)
    WHERE refund_waiting_since IS NOT NULL;

-- Each stay of an order in a stage is reported once: a stay is known by when it began.
CREATE TABLE stuck_reports (
    order_id     TEXT NOT NULL REFERENCES orders (order_id),
    stage        TEXT NOT NULL,
    since        TIMESTAMPTZ NOT NULL,
    reported_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, stage, since)
);
