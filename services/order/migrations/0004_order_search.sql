-- Operations search orders by the customer's phone or email (services/order/ops_views.py),
-- newest first: each as stored (phones normalised at placing, emails compared lower-cased).
CREATE INDEX orders_by_email ON orders (lower(contact ->> 'email'), placed_at DESC, order_id DESC)
    WHERE contact ->> 'email' IS NOT NULL;
CREATE INDEX orders_by_phone ON orders ((contact ->> 'phone'), placed_at DESC, order_id DESC)
    WHERE contact ->> 'phone' IS NOT NULL;
CREATE INDEX orders_by_recipient_phone
    ON orders ((address ->> 'phone'), placed_at DESC, order_id DESC)
    WHERE address ->> 'phone' IS NOT NULL;

-- Housekeeping purges the reports of stays long over (services/order/stuck.py).
CREATE INDEX stuck_reports_by_age ON stuck_reports (reported_at);
