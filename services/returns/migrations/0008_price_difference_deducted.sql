-- A refund of units of a line that had a price difference refunded gives back what the
-- units were paid less their share of that difference (even per unit held): the share it
-- leaves out is kept per line, so what rests on the units still held stays known. 0 for
-- requests recorded before (they refunded the units' full price).
ALTER TABLE refund_request_lines
    ADD COLUMN price_difference_deducted BIGINT NOT NULL DEFAULT 0
        CHECK (price_difference_deducted >= 0);
