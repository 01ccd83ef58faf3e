-- The courier the customer chose at checkout (OrderPlaced.courier) and the surcharge they
-- paid for it (Money as JSON, like `total`): honoured when the shipment opens, or
-- substituted, the surcharge then not owed.
ALTER TABLE fulfilments
    ADD COLUMN requested_courier TEXT,
    ADD COLUMN courier_fee JSONB;
