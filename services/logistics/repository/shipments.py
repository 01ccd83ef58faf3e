"""SQL for shipments, tracking checkpoints and the courier rotation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from services.logistics.deps import Deps
from services.logistics.domain.shipping import BOOKING, Outcome, ParcelStatus, Shipment
from services.logistics.repository.orders import set_promise
from shared import effects
from shared.logging import get_logger
from shared.unit import Unit

Conn: TypeAlias = asyncpg.Connection
log = get_logger(__name__)

_SHIPMENT = """shipment_id, order_id, status, courier, tracking_number, cash_on_delivery,
    promised_ship_date, expected_date, created_at, shipped_at, delivered_at, last_checkpoint_at"""


async def record(unit: Unit[Deps], order_id: str, outcome: Outcome) -> None:
    """Saves what a shipping rule decided: the shipment, the order's promise, the booking
    to make after commit, the timers and the events."""
    if outcome.shipment is not None:
        await save_shipment(unit.conn, outcome.shipment)
    if outcome.promise is not None:
        await set_promise(unit.conn, order_id, outcome.promise)
    if outcome.booking is not None:
        key, payload = outcome.booking
        if await effects.record(unit, BOOKING, key, payload):
            log.info("booking requested", shipment_id=key, courier=payload["courier"])
    for (kind, key), due_at in outcome.timers.items():
        if due_at is None:
            await unit.cancel_timer(kind, key)
        else:
            await unit.schedule(kind, key, due_at)
    for event in outcome.events:
        await unit.emit(event, order_id=order_id)


def _shipment(row: asyncpg.Record | None) -> Shipment | None:
    if row is None:
        return None
    values = dict(row)
    values["status"] = ParcelStatus(values["status"])
    return Shipment(**values)


async def _one(conn: Conn, where: str, *args: Any, lock: bool) -> Shipment | None:
    lock_clause = "FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_SHIPMENT} FROM shipments WHERE {where} {lock_clause}",  # noqa: S608
        *args,
    )
    return _shipment(row)


async def shipment_of_order(conn: Conn, order_id: str, *, lock: bool = True) -> Shipment | None:
    return await _one(conn, "order_id = $1", order_id, lock=lock)


async def shipment_by_id(conn: Conn, shipment_id: str) -> Shipment | None:
    return await _one(conn, "shipment_id = $1", shipment_id, lock=True)


async def shipment_by_tracking(
    conn: Conn, courier: str, tracking_number: str, *, lock: bool = True
) -> Shipment | None:
    return await _one(
        conn, "courier = $1 AND tracking_number = $2", courier, tracking_number, lock=lock
    )


async def save_shipment(conn: Conn, shipment: Shipment) -> None:
    """Writes the shipment whole (new, or as a decision left it)."""
    await conn.execute(
        f"""INSERT INTO shipments ({_SHIPMENT})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT (shipment_id) DO UPDATE SET status = EXCLUDED.status,
                tracking_number = EXCLUDED.tracking_number,
                expected_date = EXCLUDED.expected_date, shipped_at = EXCLUDED.shipped_at,
                delivered_at = EXCLUDED.delivered_at,
                last_checkpoint_at = EXCLUDED.last_checkpoint_at""",  # noqa: S608
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
    )


async def next_courier_turn(conn: Conn) -> int:
    return int(await conn.fetchval("SELECT nextval('courier_rotation')"))


async def add_checkpoint(
    conn: Conn,
    courier: str,
    checkpoint_id: str,
    shipment_id: str,
    checkpoint_at: datetime,
    city: str,
    status: str,
    description: str,
) -> bool:
    """Records a checkpoint; False when this courier already reported this id."""
    result = await conn.execute(
        """INSERT INTO checkpoints (courier, checkpoint_id, shipment_id, checkpoint_at, city,
               status, description) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT DO NOTHING""",
        courier,
        checkpoint_id,
        shipment_id,
        checkpoint_at,
        city,
        status,
        description,
    )
    return bool(result.endswith(" 1"))


async def timeline(conn: Conn, shipment_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT checkpoint_id, checkpoint_at, city, status, description FROM checkpoints
           WHERE shipment_id = $1 ORDER BY checkpoint_at, received_at""",
        shipment_id,
    )
    return [dict(r) for r in rows]


async def checkpoint_count(conn: Conn, shipment_id: str) -> int:
    return int(
        await conn.fetchval("SELECT count(*) FROM checkpoints WHERE shipment_id = $1", shipment_id)
    )


async def quiet_parcels(
    conn: Conn, couriers: Sequence[str], quiet_since: datetime, limit: int = 100
) -> list[tuple[str, str]]:
    """Parcels on their way with no checkpoint since `quiet_since`: (courier, tracking)."""
    rows = await conn.fetch(
        """SELECT courier, tracking_number FROM shipments
           WHERE status IN ('shipped', 'in_transit', 'out_for_delivery')
             AND courier = ANY($1::text[])
             AND COALESCE(last_checkpoint_at, shipped_at) <= $2
           ORDER BY shipped_at LIMIT $3""",
        list(couriers),
        quiet_since,
        limit,
    )
    return [(r["courier"], r["tracking_number"]) for r in rows]


async def destination_city(conn: Conn, order_id: str) -> str:
    address = await conn.fetchval("SELECT address FROM fulfilments WHERE order_id = $1", order_id)
    return str((address or {}).get("city") or "")
