-- Wakes the timers poller when a timer is set (or re-armed, or retried) to a due time:
-- the payload is that time (epoch seconds), so that a poller sleeping until an earlier
-- timer ignores it and one sleeping past it looks again.
CREATE FUNCTION timers_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('timers', extract(epoch FROM NEW.due_at)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER timers_notify AFTER INSERT OR UPDATE OF due_at, state ON timers
    FOR EACH ROW WHEN (NEW.state = 'pending') EXECUTE FUNCTION timers_notify();
