-- A customer may also opt out from the order page (POST /v1/orders/{id}/unsubscribe,
-- authorised by the order's customer token): a third source of opt-outs.
ALTER TABLE contact_opt_outs DROP CONSTRAINT contact_opt_outs_source_check;
ALTER TABLE contact_opt_outs ADD CONSTRAINT contact_opt_outs_source_check
    CHECK (source IN ('email_link', 'sms_keyword', 'order_page'));
