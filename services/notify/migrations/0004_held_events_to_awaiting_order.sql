-- Events held for an order notify had not heard of now wait in the table every service
-- shares (shared migration 0005, shared/held.py): what an earlier version held there moves
-- over, to be handled when its order arrives, and notify's own table goes.
INSERT INTO awaiting_order (event_id, order_id, event_type, envelope, topic, partition,
                            "offset", occurred_at, received_at)
SELECT event_id, order_id, event_type, envelope, topic, partition, "offset", occurred_at,
       received_at
FROM held_events
ON CONFLICT (event_id) DO NOTHING;

DROP TABLE held_events;
