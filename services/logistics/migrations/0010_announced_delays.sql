-- Delays operations announce (PUT /v1/ops/delays/{delay_id}): the parcels expected from
-- expected_from to expected_to (inclusive; the day a parcel leaves while it waits in the
-- warehouse, the day it arrives once on its way), of one region and one courier when
-- named, waiting, on their way or all, move `days` working days later.
CREATE TABLE delay_announcements (
    delay_id TEXT PRIMARY KEY,
    cause TEXT NOT NULL,
    expected_from DATE NOT NULL,
    expected_to DATE NOT NULL CHECK (expected_to >= expected_from),
    region TEXT,
    courier TEXT,
    parcels TEXT NOT NULL,
    days INT NOT NULL CHECK (days BETWEEN 1 AND 30),
    announced_at TIMESTAMPTZ NOT NULL,
    covered INT NOT NULL  -- the parcels open when it was announced that it covered
);
-- the announcements in force, read as a parcel opens or ships
CREATE INDEX delay_announcements_in_force ON delay_announcements (expected_to);

-- Each parcel an announcement moved and told of, once: a parcel is told of an announcement
-- at most once, however it comes to be covered (the sweep, its opening, its shipping).
CREATE TABLE delay_notices (
    delay_id TEXT NOT NULL REFERENCES delay_announcements (delay_id),
    shipment_id TEXT NOT NULL REFERENCES shipments (shipment_id),
    previous_date DATE NOT NULL,
    new_date DATE NOT NULL,
    told_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (delay_id, shipment_id)
);
