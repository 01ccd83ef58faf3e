-- Reconciliation asks the provider about exchange charges whose capture callback has not
-- come, as it does about attempts: when it last asked, the provider's last answer
-- ('pending' until it reports an end), and when the session of a cancelled exchange was
-- closed at the provider (a cancelled charge is asked once more after that: the customer
-- may have paid just before it closed).
ALTER TABLE exchange_charges ADD COLUMN checked_at TIMESTAMPTZ;
ALTER TABLE exchange_charges ADD COLUMN provider_state TEXT;
ALTER TABLE exchange_charges ADD COLUMN closed_at TIMESTAMPTZ;
CREATE INDEX exchange_charges_unsettled ON exchange_charges (created_at)
    WHERE status IN ('open', 'cancelled') AND session_id IS NOT NULL
    AND provider_state IS DISTINCT FROM 'final';
