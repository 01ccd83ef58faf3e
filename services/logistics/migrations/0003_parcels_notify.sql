-- Wakes the sandbox courier's auto-advance when a parcel sets off: it sleeps until the
-- next parcel on its way falls quiet, and with none on its way until this NOTIFY.
CREATE FUNCTION parcels_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('parcels', '');
    RETURN NULL;
END $$;

CREATE TRIGGER parcels_notify AFTER INSERT OR UPDATE OF status ON shipments
    FOR EACH ROW WHEN (NEW.status = 'shipped') EXECUTE FUNCTION parcels_notify();
