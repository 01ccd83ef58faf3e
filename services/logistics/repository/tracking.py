"""SQL for the parcels a real carrier tracks: their subscription, pushes and polls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.logistics.repository.shipments import ON_THE_ROAD

POLL_LOCK = 0x6B64_3130_3070  # the advisory lock one replica polls under ("kd100p")


@dataclass(frozen=True)
class TrackedParcel:
    shipment_id: str
    courier: str
    tracking_number: str
    phone_tail: str | None
    company: str | None = None  # a code Kuaidi100 corrected (`comNew`); else the courier's
    resubscriptions: int = 0
    resubscribed_at: datetime | None = None


async def watch(
    conn: asyncpg.Connection,
    shipment_id: str,
    courier: str,
    tracking_number: str,
    label_url: str | None,
    phone_tail: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO carrier_tracking (shipment_id, courier, tracking_number, label_url,
               phone_tail, created_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (shipment_id) DO NOTHING""",
        shipment_id, courier, tracking_number, label_url, phone_tail, now,
    )  # fmt: skip


async def subscribed(conn: asyncpg.Connection, shipment_id: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE carrier_tracking SET subscribed_at = $2 WHERE shipment_id = $1", shipment_id, now
    )


async def lock_tracked(
    conn: asyncpg.Connection, courier: str, tracking_number: str
) -> TrackedParcel | None:
    """The parcel on its way (shipped, not yet delivered; or going back to the shop, not
    yet there), locked: what decides on its subscription is serialised."""
    row = await conn.fetchrow(
        f"""SELECT c.shipment_id, c.courier, c.tracking_number, c.phone_tail, c.company,
                  c.resubscriptions, c.resubscribed_at
           FROM carrier_tracking c JOIN shipments s ON s.shipment_id = c.shipment_id
           WHERE c.courier = $1 AND c.tracking_number = $2
             AND s.status IN {ON_THE_ROAD}
           FOR UPDATE OF c""",  # noqa: S608
        courier, tracking_number,
    )  # fmt: skip
    return TrackedParcel(**dict(row)) if row is not None else None


async def corrected(conn: asyncpg.Connection, shipment_id: str, company: str) -> None:
    """Kuaidi100 corrected the parcel's courier code: it is the one asked from now on."""
    await conn.execute(
        "UPDATE carrier_tracking SET company = $2 WHERE shipment_id = $1", shipment_id, company
    )


async def resubscribing(conn: asyncpg.Connection, shipment_id: str, now: datetime) -> None:
    """A subscription Kuaidi100 ended is made again (counted, so it stays bounded)."""
    await conn.execute(
        """UPDATE carrier_tracking SET resubscriptions = resubscriptions + 1,
               resubscribed_at = $2, subscribed_at = NULL WHERE shipment_id = $1""",
        shipment_id,
        now,
    )


async def heard(
    conn: asyncpg.Connection, courier: str, tracking_number: str, now: datetime, *, pushed: bool
) -> None:
    """The carrier told us of the parcel: by a push, or answering our query."""
    column = "last_push_at" if pushed else "last_polled_at"
    await conn.execute(
        f"UPDATE carrier_tracking SET {column} = $3 WHERE courier = $1 AND tracking_number = $2",  # noqa: S608
        courier, tracking_number, now,
    )  # fmt: skip


async def claim_silent(
    conn: asyncpg.Connection, couriers: list[str], silent_since: datetime, now: datetime, limit: int
) -> list[TrackedParcel] | None:
    """Inside a transaction: the parcels on their way (to the customer, or back to the shop:
    its arrival there is heard too) that nothing was heard of since `silent_since` (neither
    pushed nor polled), at most `limit`, marked polled now so that the next pass takes
    others; None when another replica is polling."""
    if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", POLL_LOCK):
        return None
    rows = await conn.fetch(
        f"""UPDATE carrier_tracking t SET last_polled_at = $3
           WHERE t.shipment_id IN (
               SELECT c.shipment_id FROM carrier_tracking c
               JOIN shipments s ON s.shipment_id = c.shipment_id
               WHERE c.courier = ANY($1::text[])
                 AND s.status IN {ON_THE_ROAD}
                 AND greatest(coalesce(c.last_push_at, c.created_at),
                              coalesce(c.last_polled_at, c.created_at)) < $2
               ORDER BY greatest(coalesce(c.last_push_at, c.created_at),
                                 coalesce(c.last_polled_at, c.created_at))
               LIMIT $4)
           RETURNING t.shipment_id, t.courier, t.tracking_number, t.phone_tail, t.company""",  # noqa: S608
        couriers, silent_since, now, limit,
    )  # fmt: skip
    return [TrackedParcel(**dict(r)) for r in rows]


async def unpolled(conn: asyncpg.Connection, shipment_id: str) -> None:
    """A query that failed: the parcel is due again at the next pass."""
    await conn.execute(
        "UPDATE carrier_tracking SET last_polled_at = NULL WHERE shipment_id = $1", shipment_id
    )


async def label_of(conn: asyncpg.Connection, shipment_id: str) -> str | None:
    value = await conn.fetchval(
        "SELECT label_url FROM carrier_tracking WHERE shipment_id = $1", shipment_id
    )
    return str(value) if value else None


async def known_checkpoints(
    conn: asyncpg.Connection, courier: str, checkpoint_ids: list[str]
) -> set[str]:
    """Which of these checkpoints the courier reported before."""
    if not checkpoint_ids:
        return set()
    rows = await conn.fetch(
        "SELECT checkpoint_id FROM checkpoints WHERE courier = $1 AND checkpoint_id = ANY($2)",
        courier,
        checkpoint_ids,
    )
    return {r["checkpoint_id"] for r in rows}
