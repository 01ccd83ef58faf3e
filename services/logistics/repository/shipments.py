"""SQL for shipments, tracking checkpoints and the courier rotation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypeAlias

import asyncpg

from services.logistics.carriers.sandbox import SandboxParcel
from services.logistics.deps import Deps
from services.logistics.domain.shipping import (
    BOOKING,
    Checkpoint,
    Outcome,
    ParcelStatus,
    Shipment,
)
from services.logistics.repository.orders import set_promise
from shared import effects
from shared.logging import get_logger
from shared.unit import Unit

Conn: TypeAlias = asyncpg.Connection
log = get_logger(__name__)

_SHIPMENT = """shipment_id, order_id, status, courier, tracking_number, cash_on_delivery,
    promised_ship_date, expected_date, created_at, shipped_at, delivered_at, last_checkpoint_at,
    returned_at, warehouse, lines, parcel_number, parcel_count, exchange_id"""
# parcels the couriers still carry: to the customer, or back to the shop
ON_THE_ROAD = "('shipped', 'in_transit', 'out_for_delivery', 'returning')"


_SAVE_SHIPMENT = f"""INSERT INTO shipments ({_SHIPMENT})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
        $18)
    ON CONFLICT (shipment_id) DO UPDATE SET status = EXCLUDED.status,
        tracking_number = EXCLUDED.tracking_number,
        expected_date = EXCLUDED.expected_date, shipped_at = EXCLUDED.shipped_at,
        delivered_at = EXCLUDED.delivered_at,
        last_checkpoint_at = EXCLUDED.last_checkpoint_at,
        returned_at = EXCLUDED.returned_at"""  # noqa: S608
_SAVE_SHIPMENT_AND_PROMISE = f"""WITH promised AS (
        UPDATE fulfilments SET promised_ship_date = $19, updated_at = now()
        WHERE order_id = $2)
    {_SAVE_SHIPMENT}"""  # noqa: S608


async def record(unit: Unit[Deps], order_id: str, outcome: Outcome) -> None:
    """Saves what a shipping rule decided: the shipment, the order's promise, the booking
    to make after commit, the timers and the events."""
    if outcome.shipment is not None:
        await save_shipment(unit.conn, outcome.shipment, outcome.promise)
    elif outcome.promise is not None:
        await set_promise(unit.conn, order_id, outcome.promise)
    if outcome.booking is not None:
        key, payload = outcome.booking
        if await effects.record(unit, BOOKING, key, payload):
            log.debug("booking requested", shipment_id=key, courier=payload["courier"])
    for (kind, key), due_at in outcome.timers.items():
        if due_at is None:
            await unit.cancel_timer(kind, key)
        else:
            await unit.schedule(kind, key, due_at)
    for event in outcome.events:
        await unit.emit(event, order_id=order_id)


def _shipment(row: asyncpg.Record | None) -> Shipment | None:
    return None if row is None else _shipment_of(dict(row))


def _shipment_of(values: dict[str, Any]) -> Shipment:
    values["status"] = ParcelStatus(values["status"])
    return Shipment(**values)


async def _one(conn: Conn, where: str, *args: Any, lock: bool) -> Shipment | None:
    lock_clause = "FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_SHIPMENT} FROM shipments WHERE {where} {lock_clause}",  # noqa: S608
        *args,
    )
    return _shipment(row)


async def shipments_of_order(conn: Conn, order_id: str, *, lock: bool = True) -> list[Shipment]:
    """The order's shipments, one per parcel, by number (a stopped one's parcels stay,
    cancelled); locked unless told not to. An exchange's parcel is not one of them."""
    lock_clause = "FOR UPDATE" if lock else ""
    rows = await conn.fetch(
        f"""SELECT {_SHIPMENT} FROM shipments WHERE order_id = $1 AND exchange_id IS NULL
            ORDER BY parcel_number, created_at, shipment_id {lock_clause}""",  # noqa: S608
        order_id,
    )
    return [_shipment_of(dict(r)) for r in rows]


async def shipment_by_id(conn: Conn, shipment_id: str, *, lock: bool = True) -> Shipment | None:
    return await _one(conn, "shipment_id = $1", shipment_id, lock=lock)


async def tracked_parcel(
    conn: Conn, courier: str, tracking_number: str
) -> tuple[Shipment, str | None] | None:
    """The courier's parcel, locked, with the correlation id its order's flow began with
    (for the events the courier causes), in one read."""
    columns = ", ".join(f"s.{name.strip()}" for name in _SHIPMENT.split(","))
    row = await conn.fetchrow(
        f"""SELECT {columns}, f.correlation_id AS flow_correlation_id
            FROM shipments s LEFT JOIN fulfilments f ON f.order_id = s.order_id
            WHERE s.courier = $1 AND s.tracking_number = $2 FOR UPDATE OF s""",  # noqa: S608
        courier,
        tracking_number,
    )
    if row is None:
        return None
    values = dict(row)
    correlation = values.pop("flow_correlation_id")
    shipment = _shipment_of(values)
    return shipment, str(correlation) if correlation else None


async def save_shipment(conn: Conn, shipment: Shipment, promise: date | None = None) -> None:
    """Writes the shipment whole (new, or as a decision left it) and, in the same
    statement, its order's new `promise` when there is one."""
    await conn.execute(
        _SAVE_SHIPMENT_AND_PROMISE if promise is not None else _SAVE_SHIPMENT,
        shipment.shipment_id,
        shipment.order_id,
        shipment.status.value,
        shipment.courier,
        shipment.tracking_number,
        shipment.cash_on_delivery,
        shipment.promised_ship_date,
        shipment.expected_date,
        shipment.created_at,
        shipment.shipped_at,
        shipment.delivered_at,
        shipment.last_checkpoint_at,
        shipment.returned_at,
        shipment.warehouse,
        shipment.lines,
        shipment.parcel_number,
        shipment.parcel_count,
        shipment.exchange_id,
        *([promise] if promise is not None else []),
    )


async def next_courier_turn(conn: Conn) -> int:
    return int(await conn.fetchval("SELECT nextval('courier_rotation')"))


async def take_checkpoint(conn: Conn, courier: str, cp: Checkpoint, moved: Shipment) -> bool:
    """Records a courier's checkpoint and, when it is new, the shipment as it moved, in one
    statement; False (nothing written) when this courier already reported this id."""
    taken = await conn.fetchval(
        """WITH taken AS (
               INSERT INTO checkpoints (courier, checkpoint_id, shipment_id, checkpoint_at,
                   city, status, description) VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT DO NOTHING RETURNING 1)
           UPDATE shipments SET status = $8, tracking_number = $9, expected_date = $10,
               shipped_at = $11, delivered_at = $12, last_checkpoint_at = $13, returned_at = $14
           WHERE shipment_id = $3 AND EXISTS (SELECT 1 FROM taken) RETURNING true""",
        courier,
        cp.checkpoint_id,
        moved.shipment_id,
        cp.checkpoint_at,
        cp.city,
        cp.status.value,
        cp.description,
        moved.status.value,
        moved.tracking_number,
        moved.expected_date,
        moved.shipped_at,
        moved.delivered_at,
        moved.last_checkpoint_at,
        moved.returned_at,
    )
    return bool(taken)


async def failed_attempts(conn: Conn, shipment_id: str) -> int:
    """How many failed delivery attempts the couriers reported of the parcel so far."""
    return int(
        await conn.fetchval(
            """SELECT count(*) FROM checkpoints
               WHERE shipment_id = $1 AND status = 'failed_attempt'""",
            shipment_id,
        )
    )


async def timeline(conn: Conn, shipment_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT checkpoint_id, checkpoint_at, city, status, description FROM checkpoints
           WHERE shipment_id = $1 ORDER BY checkpoint_at, received_at""",
        shipment_id,
    )
    return [dict(r) for r in rows]


# What the sandbox courier needs to report a parcel's next checkpoint, in one read: its
# place in the script (the checkpoints reported so far, and of them those on its way back
# once it turned back), where it is going and the city it goes to.
_SANDBOX_PARCEL = """SELECT s.courier, s.tracking_number, s.status,
        (SELECT count(*) FROM checkpoints c WHERE c.shipment_id = s.shipment_id) AS step,
        (SELECT count(*) FROM checkpoints c WHERE c.shipment_id = s.shipment_id
            AND c.status IN ('returned', 'returned_to_shop')) AS homeward,
        COALESCE(f.address->>'city', '') AS destination
    FROM shipments s LEFT JOIN fulfilments f ON f.order_id = s.order_id"""


async def sandbox_parcel(conn: Conn, courier: str, tracking_number: str) -> SandboxParcel | None:
    row = await conn.fetchrow(
        f"{_SANDBOX_PARCEL} WHERE s.courier = $1 AND s.tracking_number = $2",
        courier,
        tracking_number,
    )
    return SandboxParcel(**dict(row)) if row else None


async def quiet_parcels(
    conn: Conn, couriers: Sequence[str], quiet_since: datetime, limit: int = 100
) -> tuple[list[SandboxParcel], datetime | None]:
    """Parcels on their way (to the customer, or back to the shop) with no checkpoint since
    `quiet_since`, oldest shipped first, and when the first of the others on their way was
    last heard of (None: no other), in one read: the auto-advance sleeps until that one
    falls quiet."""
    rows = await conn.fetch(
        f"""SELECT n.next_heard, p.* FROM (
               SELECT min(COALESCE(last_checkpoint_at, shipped_at)) AS next_heard
               FROM shipments
               WHERE status IN {ON_THE_ROAD}
                 AND courier = ANY($1::text[])
                 AND COALESCE(last_checkpoint_at, shipped_at) > $2) AS n
           LEFT JOIN LATERAL ({_SANDBOX_PARCEL}
               WHERE s.status IN {ON_THE_ROAD}
                 AND s.courier = ANY($1::text[])
                 AND COALESCE(s.last_checkpoint_at, s.shipped_at) <= $2
               ORDER BY s.shipped_at LIMIT $3) AS p ON true""",  # noqa: S608
        list(couriers),
        quiet_since,
        limit,
    )
    parcels = [
        SandboxParcel(**{k: v for k, v in r.items() if k != "next_heard"})
        for r in rows
        if r["courier"] is not None
    ]
    return parcels, rows[0]["next_heard"] if rows else None
