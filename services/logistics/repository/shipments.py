"""SQL for shipments, tracking checkpoints and the courier rotation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeAlias

import asyncpg

from services.logistics.domain import ParcelStatus

Conn: TypeAlias = asyncpg.Connection

# --- shipments and checkpoints -----------------------------------------------


@dataclass(frozen=True)
class Shipment:
    shipment_id: str
    order_id: str
    status: ParcelStatus
    courier: str
    tracking_number: str | None
    cash_on_delivery: dict[str, Any] | None
    promised_ship_date: date
    expected_date: date
    created_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    last_checkpoint_at: datetime | None


_SHIPMENT = """shipment_id, order_id, status, courier, tracking_number, cash_on_delivery,
    promised_ship_date, expected_date, created_at, shipped_at, delivered_at, last_checkpoint_at"""


def _shipment(row: asyncpg.Record | None) -> Shipment | None:
    if row is None:
        return None
    values = dict(row)
    values["status"] = ParcelStatus(values["status"])
    return Shipment(**values)


async def shipment_of_order(conn: Conn, order_id: str, *, lock: bool = True) -> Shipment | None:
    lock_clause = "FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_SHIPMENT} FROM shipments WHERE order_id = $1 {lock_clause}",  # noqa: S608
        order_id,
    )
    return _shipment(row)


async def shipment_by_id(conn: Conn, shipment_id: str) -> Shipment | None:
    row = await conn.fetchrow(
        f"SELECT {_SHIPMENT} FROM shipments WHERE shipment_id = $1 FOR UPDATE",  # noqa: S608
        shipment_id,
    )
    return _shipment(row)


async def shipment_by_tracking_unlocked(
    conn: Conn, courier: str, tracking_number: str
) -> Shipment | None:
    row = await conn.fetchrow(
        f"SELECT {_SHIPMENT} FROM shipments WHERE courier = $1 AND tracking_number = $2",  # noqa: S608
        courier,
        tracking_number,
    )
    return _shipment(row)


async def shipment_by_tracking(conn: Conn, courier: str, tracking_number: str) -> Shipment | None:
    row = await conn.fetchrow(
        f"""SELECT {_SHIPMENT} FROM shipments WHERE courier = $1 AND tracking_number = $2
            FOR UPDATE""",  # noqa: S608
        courier,
        tracking_number,
    )
    return _shipment(row)


async def insert_shipment(conn: Conn, shipment: Shipment) -> None:
    await conn.execute(
        f"""INSERT INTO shipments ({_SHIPMENT})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",  # noqa: S608
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


async def mark_shipped(
    conn: Conn, shipment_id: str, tracking_number: str, shipped_at: datetime, expected: date
) -> None:
    await conn.execute(
        """UPDATE shipments SET status = 'shipped', tracking_number = $2, shipped_at = $3,
               expected_date = $4 WHERE shipment_id = $1""",
        shipment_id,
        tracking_number,
        shipped_at,
        expected,
    )


async def update_shipment(
    conn: Conn,
    shipment_id: str,
    *,
    status: ParcelStatus | None = None,
    expected_date: date | None = None,
    last_checkpoint_at: datetime | None = None,
    delivered_at: datetime | None = None,
) -> None:
    await conn.execute(
        """UPDATE shipments SET status = COALESCE($2, status),
               expected_date = COALESCE($3, expected_date),
               last_checkpoint_at = GREATEST(last_checkpoint_at, $4),
               delivered_at = COALESCE(delivered_at, $5)
           WHERE shipment_id = $1""",
        shipment_id,
        status.value if status else None,
        expected_date,
        last_checkpoint_at,
        delivered_at,
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
