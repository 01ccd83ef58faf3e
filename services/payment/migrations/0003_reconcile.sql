-- Reconciliation asks the provider about attempts whose callback has not come: when it
-- last asked, and the provider's last answer ('pending' until it reports an end).
ALTER TABLE attempts ADD COLUMN checked_at TIMESTAMPTZ;
ALTER TABLE attempts ADD COLUMN provider_state TEXT;
CREATE INDEX attempts_unsettled ON attempts (created_at)
    WHERE status IN ('open', 'expired', 'superseded') AND session_id IS NOT NULL
    AND provider_state IS DISTINCT FROM 'final';
-- The daily report sums the ledger by day.
CREATE INDEX ledger_recorded ON ledger (recorded_at);
