-- The exchanges whose units operations still wait to receive back (accepted, released or
-- already shipped at once for a quality problem), oldest first: `GET /v1/ops/exchanges`.
CREATE INDEX exchanges_awaiting_return ON exchanges (created_at, id)
    WHERE return_received_at IS NULL AND status IN ('accepted', 'released', 'shipped');
