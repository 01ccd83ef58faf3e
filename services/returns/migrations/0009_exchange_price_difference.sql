-- The share of a price difference already refunded on a line that an exchange's units
-- carry away (their value came back partly as that difference): left out of what the
-- units returned are worth against the replacement, and, while the exchange is live,
-- no longer resting on the units the customer keeps (repository.holdings).
ALTER TABLE exchanges
    ADD COLUMN price_difference_deducted BIGINT NOT NULL DEFAULT 0
        CHECK (price_difference_deducted >= 0);
