-- The queue of requests awaiting operations (GET /v1/ops/refund-requests), oldest first
-- across all orders, and the fulfil_refund_requests_awaiting gauge. Only undecided requests
-- are indexed, so the index stays as small as the queue. A refund before shipping that is
-- still `requested` waits for logistics' answer, not for a person: it is left out.
CREATE INDEX refund_requests_awaiting ON refund_requests (created_at, id)
    WHERE status IN ('requested', 'return_shipped')
      AND NOT (flow = 'before_shipping' AND status = 'requested');
