-- An exchange whose replacement was delivered (ExchangeDelivered) ends `delivered`, with
-- the parcel's delivery time.
ALTER TABLE exchanges ADD COLUMN delivered_at TIMESTAMPTZ;
ALTER TABLE exchanges DROP CONSTRAINT exchanges_status_check;
ALTER TABLE exchanges ADD CONSTRAINT exchanges_status_check CHECK (status IN (
    'requested', 'accepted', 'refused', 'released', 'shipped', 'delivered', 'cancelled'));
-- A replacement sent at once for a quality problem may be delivered before its units come
-- back: operations still wait for them (`GET /v1/ops/exchanges`). Replaces 0005's index.
DROP INDEX exchanges_awaiting_return;
CREATE INDEX exchanges_awaiting_return ON exchanges (created_at, id)
    WHERE return_received_at IS NULL
      AND status IN ('accepted', 'released', 'shipped', 'delivered');
