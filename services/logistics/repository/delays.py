"""SQL for the delays operations announce and the parcels each one told.

An announcement and a parcel opening or shipping are serialised by one advisory lock:
announcing takes it exclusively (while it finds the parcels already open), a parcel opening
or shipping takes it shared (before it reads the announcements in force). So a parcel is
either seen by the announcement's sweep or sees the announcement, never neither.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeAlias

import asyncpg

from services.logistics.domain.delays import ANNOUNCED, Announcement

Conn: TypeAlias = asyncpg.Connection

_LOCK = "hashtextextended('logistics.delay_announcements', 0)"
_COLUMNS = """delay_id, cause, expected_from, expected_to, days, parcels, region, courier,
    announced_at"""
# an announcement with how it stands: the parcels it covered when made, those told so far
_STANDING = f"""SELECT {_COLUMNS}, covered,
        (SELECT count(*)::int FROM delay_notices n WHERE n.delay_id = d.delay_id) AS told
    FROM delay_announcements d"""  # noqa: S608
# the statuses of the parcels an announcement's `parcels` covers
_STATUSES = {
    "waiting": ["pending"],
    "on_its_way": ["shipped", "in_transit", "out_for_delivery"],
    "all": ["pending", "shipped", "in_transit", "out_for_delivery"],
}


def _announcement(row: asyncpg.Record) -> Announcement:
    return Announcement(**dict(row))


async def delays_in_force(conn: Conn, today: date) -> list[Announcement]:
    """The announcements whose range has not passed, the earliest made first; under the
    shared lock, so one being made is waited for and seen."""
    await conn.execute(f"SELECT pg_advisory_xact_lock_shared({_LOCK})")
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM delay_announcements WHERE expected_to >= $1
            ORDER BY announced_at, delay_id""",  # noqa: S608
        today,
    )
    return [_announcement(r) for r in rows]


async def announce_delay(
    conn: Conn, a: Announcement, today: date, correlation_id: str | None
) -> tuple[Announcement, dict[str, Any], bool]:
    """Records the announcement and a due `announced_delay` timer for each parcel already
    open that it covers. The announcement as stored, how it stands (`covered`, `told`), and
    whether it is new (False: one was made under this id before, and nothing is written)."""
    await conn.execute(f"SELECT pg_advisory_xact_lock({_LOCK})")
    made = await conn.fetchval(
        """INSERT INTO delay_announcements (delay_id, cause, expected_from, expected_to, days,
               parcels, region, courier, announced_at, covered)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)
           ON CONFLICT (delay_id) DO NOTHING RETURNING true""",
        a.delay_id,
        a.cause,
        a.expected_from,
        a.expected_to,
        a.days,
        a.parcels,
        a.region,
        a.courier,
        a.announced_at,
    )
    if not made:
        found = await delay_announcement(conn, a.delay_id)
        assert found is not None, "an announcement is never deleted"
        return (*found, False)
    covered = await conn.fetchval(
        """WITH covered AS (
               SELECT s.shipment_id FROM shipments s
               JOIN fulfilments f ON f.order_id = s.order_id
               WHERE s.status = ANY($2::text[]) AND s.exchange_id IS NULL
                 AND s.expected_date BETWEEN $3 AND $4
                 AND ($5::text IS NULL OR s.courier = $5)
                 AND ($6::text IS NULL OR lower(f.address->>'region') = lower($6))),
           armed AS (
               INSERT INTO timers (kind, key, due_at, payload, correlation_id)
               SELECT $7, $1 || ':' || shipment_id, now(), '{}'::jsonb, $8 FROM covered
               ON CONFLICT (kind, key) DO NOTHING RETURNING 1),
           counted AS (SELECT count(*)::int AS n FROM armed)
           UPDATE delay_announcements SET covered = counted.n FROM counted
           WHERE delay_id = $1 RETURNING covered""",
        a.delay_id,
        _STATUSES[a.parcels],
        max(a.expected_from, today),
        a.expected_to,
        a.courier,
        a.region,
        ANNOUNCED,
        correlation_id,
    )
    return a, {"covered": int(covered), "told": 0}, True


async def delay_announcement(
    conn: Conn, delay_id: str
) -> tuple[Announcement, dict[str, Any]] | None:
    """The announcement with how it stands: `covered` (when made), `told` (so far)."""
    row = await conn.fetchrow(f"{_STANDING} WHERE delay_id = $1", delay_id)
    return _standing(row) if row is not None else None


async def delay_announcements(
    conn: Conn, limit: int, *, in_force_on: date | None = None
) -> list[tuple[Announcement, dict[str, Any]]]:
    """The latest announcements first (only those in force on `in_force_on`, when given),
    with how each stands."""
    rows = await conn.fetch(
        f"""{_STANDING} WHERE $1::date IS NULL OR expected_to >= $1
            ORDER BY announced_at DESC, delay_id LIMIT $2""",
        in_force_on,
        limit,
    )
    return [_standing(r) for r in rows]


def _standing(row: asyncpg.Record) -> tuple[Announcement, dict[str, Any]]:
    values = dict(row)
    progress = {"covered": values.pop("covered"), "told": values.pop("told")}
    return Announcement(**values), progress


async def tell_delay(
    conn: Conn, delay_id: str, shipment_id: str, previous: date, new: date, at: datetime
) -> bool:
    """Records that the parcel was told of the announcement; False when it was already."""
    told = await conn.fetchval(
        """INSERT INTO delay_notices (delay_id, shipment_id, previous_date, new_date, told_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true""",
        delay_id,
        shipment_id,
        previous,
        new,
        at,
    )
    return bool(told)
