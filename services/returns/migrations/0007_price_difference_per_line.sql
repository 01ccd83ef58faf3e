-- What a price_dropped request takes on each of its lines (0 for other requests): a new
-- request for the same line owes only what live requests (open, approved, refunded) have
-- not taken yet, so the same drop is refunded once and a further drop only by its extra.
ALTER TABLE refund_request_lines
    ADD COLUMN price_difference BIGINT NOT NULL DEFAULT 0 CHECK (price_difference >= 0);

-- Requests recorded before this column: each price_dropped request's amount is shared over
-- its lines, in the order the request names them, pro rata by the difference to the price
-- in effect when it was asked (the catalogue's history) when those cover the amount,
-- otherwise by what the named units were paid; cumulative rounding down, so the parts add
-- up to the amount and the last line takes the remainder.
WITH named AS (
    SELECT r.id AS request_id, r.amount, e.n, e.line->>'line_id' AS line_id,
           (e.line->>'quantity')::numeric AS quantity,
           coalesce((ol.line->'unit_price'->>'amount')::numeric, 0) AS unit_price,
           coalesce((ol.line->'discount'->>'amount')::numeric, 0) AS discount,
           greatest(coalesce((ol.line->>'quantity')::numeric, 1), 1) AS line_quantity,
           (SELECT h.amount FROM price_history h
             WHERE h.sku = e.line->>'sku' AND h.currency = r.currency
               AND h.changed_at <= r.created_at
             ORDER BY h.changed_at DESC LIMIT 1) AS price_then
    FROM refund_requests r
    JOIN orders o ON o.order_id = r.order_id
    CROSS JOIN LATERAL jsonb_array_elements(r.lines) WITH ORDINALITY AS e (line, n)
    LEFT JOIN LATERAL (
        SELECT x AS line FROM jsonb_array_elements(o.lines) AS x
        WHERE x->>'line_id' = e.line->>'line_id' LIMIT 1
    ) AS ol ON true
    WHERE r.reason = 'price_dropped'
),
weighed AS (
    SELECT request_id, amount, n, line_id,
           greatest(unit_price - coalesce(price_then, unit_price), 0) * quantity AS reckoned,
           greatest(unit_price * quantity - discount * quantity / line_quantity, 0) AS paid
    FROM named
),
chosen AS (
    SELECT request_id, amount, n, line_id,
           CASE WHEN sum(reckoned) OVER (PARTITION BY request_id) >= amount
                THEN reckoned ELSE paid END AS weight
    FROM weighed
),
running AS (
    SELECT request_id, amount, n, line_id, weight,
           sum(weight) OVER (PARTITION BY request_id ORDER BY n) AS upto,
           sum(weight) OVER (PARTITION BY request_id) AS total,
           max(n) OVER (PARTITION BY request_id) AS last
    FROM chosen
),
parts AS (
    SELECT request_id, line_id,
           CASE WHEN total > 0
                THEN floor(amount * upto / total) - floor(amount * (upto - weight) / total)
                WHEN n = last THEN amount
                ELSE 0 END::bigint AS part
    FROM running
)
UPDATE refund_request_lines l SET price_difference = p.part
FROM parts p
WHERE l.request_id = p.request_id AND l.line_id = p.line_id;
