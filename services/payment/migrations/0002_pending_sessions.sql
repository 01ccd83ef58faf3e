-- An attempt waits for its provider session ('pending') until the effects worker has
-- opened it after the commit; the session's id and links are filled in then.
ALTER TABLE attempts DROP CONSTRAINT attempts_status_check;
ALTER TABLE attempts ADD CONSTRAINT attempts_status_check
    CHECK (status IN ('pending', 'open', 'failed', 'succeeded', 'superseded', 'expired'));
