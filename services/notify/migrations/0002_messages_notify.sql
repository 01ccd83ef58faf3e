-- Wakes the sender when recorded messages commit, instead of waiting for its next poll.
CREATE FUNCTION messages_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('notify_messages', '');
    RETURN NULL;
END $$;

CREATE TRIGGER messages_notify AFTER INSERT ON messages
    FOR EACH STATEMENT EXECUTE FUNCTION messages_notify();
