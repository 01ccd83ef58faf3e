"""SQL for the warehouse's steps of shipments and the pick list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeAlias

import asyncpg

from services.logistics.domain.warehouse import Stage, WarehouseEntry

Conn: TypeAlias = asyncpg.Connection

_ENTRY = """shipment_id, stage, entered_at, picked_at, packed_at, handed_over_at, weight_grams,
    parcels, put_back_at"""


def _entry(row: asyncpg.Record | None) -> WarehouseEntry | None:
    if row is None:
        return None
    values = dict(row)
    values["stage"] = Stage(values["stage"])
    return WarehouseEntry(**values)


async def order_of_shipment(conn: Conn, shipment_id: str) -> str | None:
    """The shipment's order, unlocked: a step locks the order first, then the shipment, as
    every other writer of both does."""
    found = await conn.fetchval(
        "SELECT order_id FROM shipments WHERE shipment_id = $1", shipment_id
    )
    return str(found) if found is not None else None


async def warehouse_entry(
    conn: Conn, shipment_id: str, *, lock: bool = True
) -> WarehouseEntry | None:
    """The shipment's warehouse steps, locked unless asked not to (None: opened without
    them)."""
    row = await conn.fetchrow(
        f"""SELECT {_ENTRY} FROM warehouse_steps WHERE shipment_id = $1
            {"FOR UPDATE" if lock else ""}""",  # noqa: S608
        shipment_id,
    )
    return _entry(row)


async def save_warehouse_entry(conn: Conn, entry: WarehouseEntry) -> None:
    await conn.execute(
        f"""INSERT INTO warehouse_steps ({_ENTRY})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (shipment_id) DO UPDATE SET stage = EXCLUDED.stage,
                picked_at = EXCLUDED.picked_at, packed_at = EXCLUDED.packed_at,
                handed_over_at = EXCLUDED.handed_over_at,
                weight_grams = EXCLUDED.weight_grams, parcels = EXCLUDED.parcels,
                put_back_at = EXCLUDED.put_back_at""",  # noqa: S608
        entry.shipment_id,
        entry.stage.value,
        entry.entered_at,
        entry.picked_at,
        entry.packed_at,
        entry.handed_over_at,
        entry.weight_grams,
        entry.parcels,
        entry.put_back_at,
    )


# What waits in the warehouse: pending shipments not yet handed over, by the promise, then
# by when the order became ready to ship (its payment; a cash-on-delivery one's opening).
_WAITING = """SELECT s.shipment_id, s.order_id, s.courier, s.promised_ship_date,
        s.expected_date, COALESCE(f.paid_at, s.created_at) AS ready_at, w.stage,
        w.weight_grams, w.parcels, COALESCE(s.lines, f.lines) AS lines, f.gift_message,
        s.warehouse, s.parcel_number, s.parcel_count
    FROM warehouse_steps w
    JOIN shipments s ON s.shipment_id = w.shipment_id
    JOIN fulfilments f ON f.order_id = s.order_id
    WHERE s.status = 'pending' AND w.stage <> 'handed_over'"""


async def pick_list(
    conn: Conn, after: tuple[date, datetime, str] | None, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` shipments waiting in the warehouse, after the (promise, ready at,
    shipment id) of the page before, in that order."""
    rows = await conn.fetch(
        f"""{_WAITING} AND ($1::date IS NULL
                OR (s.promised_ship_date, COALESCE(f.paid_at, s.created_at), s.shipment_id)
                   > ($1::date, $2::timestamptz, $3::text))
            ORDER BY s.promised_ship_date, ready_at, s.shipment_id LIMIT $4""",
        *(after or (None, None, None)),
        limit,
    )
    return [dict(r) for r in rows]


# What a stopped shipment left off the shelf: picked (or packed) before it was stopped,
# not yet put back; the earliest picked first.
_TO_PUT_BACK = """FROM warehouse_steps w
    JOIN shipments s ON s.shipment_id = w.shipment_id
    JOIN fulfilments f ON f.order_id = s.order_id
    WHERE w.stage IN ('picked', 'packed') AND w.put_back_at IS NULL
      AND s.status = 'cancelled'"""


async def to_put_back(conn: Conn, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` stopped shipments whose goods wait to go back on the shelf."""
    rows = await conn.fetch(
        f"""SELECT s.shipment_id, s.order_id, w.stage, w.picked_at, w.packed_at,
                   COALESCE(s.lines, f.lines) AS lines
            {_TO_PUT_BACK} ORDER BY w.picked_at, s.shipment_id LIMIT $1""",
        limit,
    )
    return [dict(r) for r in rows]


async def count_to_put_back(conn: Conn) -> int:
    return int(await conn.fetchval(f"SELECT count(*) {_TO_PUT_BACK}"))


async def packing_slip(conn: Conn, shipment_id: str) -> dict[str, Any] | None:
    """What the packing slip of a shipment shows: the order's lines, gift message, address
    and language, with the shipment's stage (None: no such shipment)."""
    row = await conn.fetchrow(
        """SELECT s.shipment_id, s.order_id, s.status, s.courier, s.promised_ship_date,
                  w.stage, COALESCE(s.lines, f.lines) AS lines, f.gift_message, f.address,
                  f.locale, s.warehouse, s.parcel_number, s.parcel_count
           FROM shipments s JOIN fulfilments f ON f.order_id = s.order_id
           LEFT JOIN warehouse_steps w ON w.shipment_id = s.shipment_id
           WHERE s.shipment_id = $1""",
        shipment_id,
    )
    return dict(row) if row is not None else None
