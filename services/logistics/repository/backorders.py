"""SQL for backorders, the dates operations expect SKUs back, and goods received."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import asyncpg

from services.logistics.domain.backorders import Backorder, Short
from services.logistics.domain.stock import Allocation, StockLevel
from services.logistics.repository.orders import _LEVEL_OF_S, Conn, _level

_COLUMNS = "order_id, state, lines, choose_by, default_choice, queued_at, chosen_by"


def _backorder(row: asyncpg.Record) -> Backorder:
    values = dict(row)
    values["lines"] = tuple(Short(**line) for line in values["lines"])
    return Backorder(**values)


async def save(conn: Conn, b: Backorder) -> None:
    """Writes the backorder whole (new, or as a step left it)."""
    await conn.execute(
        """INSERT INTO backorders (order_id, state, lines, skus, choose_by, default_choice,
               queued_at, chosen_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (order_id) DO UPDATE SET state = EXCLUDED.state,
               lines = EXCLUDED.lines, chosen_by = EXCLUDED.chosen_by,
               settled_at = CASE WHEN EXCLUDED.state IN ('open', 'waiting') THEN NULL
                                 ELSE now() END,
               updated_at = now()""",
        b.order_id,
        b.state,
        [x.as_json() for x in b.lines],
        sorted({x.sku for x in b.lines}),
        b.choose_by,
        b.default_choice,
        b.queued_at,
        b.chosen_by,
    )


async def of_order(conn: Conn, order_id: str) -> Backorder | None:
    """The order's backorder, locked for this transaction."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM backorders WHERE order_id = $1 FOR UPDATE",  # noqa: S608
        order_id,
    )
    return _backorder(row) if row else None


async def queue(conn: Conn, skus: Sequence[str], *, lock: bool) -> list[Backorder]:
    """The open and waiting backorders short of any of `skus`, in the order a restock
    serves them (oldest placement first); locked when `lock`."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM backorders
            WHERE state IN ('open', 'waiting') AND skus && $1::text[]
            ORDER BY queued_at, order_id {"FOR UPDATE" if lock else ""}""",  # noqa: S608
        sorted(set(skus)),
    )
    return [_backorder(r) for r in rows]


async def hold_more(
    conn: Conn, order_id: str, allocations: Sequence[Allocation]
) -> dict[tuple[str, str], StockLevel]:
    """Adds units to the order's reservations (a row per SKU and warehouse, grown when
    it has one) and raises the stock rows' reserved counts (locked by `lock_stock`
    first); the new levels by (SKU, warehouse). The order's state is the caller's."""
    rows = await conn.fetch(
        f"""WITH m AS (SELECT * FROM unnest($2::text[], $3::text[], $4::int[])
                       AS m(sku, warehouse, quantity)),
                 held AS (INSERT INTO reservations AS r (order_id, sku, warehouse, quantity)
                          SELECT $1, sku, warehouse, quantity FROM m
                          ON CONFLICT (order_id, sku, warehouse) DO UPDATE
                          SET quantity = r.quantity + EXCLUDED.quantity)
            UPDATE stock s SET reserved = s.reserved + m.quantity, updated_at = now()
            FROM m WHERE s.sku = m.sku AND s.warehouse = m.warehouse
            RETURNING {_LEVEL_OF_S}""",  # noqa: S608
        order_id,
        [a.sku for a in allocations],
        [a.warehouse for a in allocations],
        [a.quantity for a in allocations],
    )
    levels = {(r["sku"], r["warehouse"]): _level(r) for r in rows}
    if len(levels) != len({(a.sku, a.warehouse) for a in allocations}):
        raise LookupError(f"a stock row of {order_id}'s reservations is missing")
    return levels


async def set_lines(conn: Conn, order_id: str, lines: list[dict[str, Any]]) -> None:
    """The order's lines as they now ship (the short units dropped)."""
    await conn.execute(
        "UPDATE fulfilments SET lines = $2, updated_at = now() WHERE order_id = $1",
        order_id,
        lines,
    )


# --- restock dates -----------------------------------------------------------


async def restock_dates(conn: Conn, skus: Sequence[str]) -> dict[str, date]:
    rows = await conn.fetch(
        "SELECT sku, expected_on FROM restock_dates WHERE sku = ANY($1::text[])",
        sorted(set(skus)),
    )
    return {str(r["sku"]): r["expected_on"] for r in rows}


async def set_restock_date(conn: Conn, sku: str, expected_on: date | None) -> None:
    if expected_on is None:
        await conn.execute("DELETE FROM restock_dates WHERE sku = $1", sku)
        return
    await conn.execute(
        """INSERT INTO restock_dates (sku, expected_on) VALUES ($1, $2)
           ON CONFLICT (sku) DO UPDATE SET expected_on = EXCLUDED.expected_on,
               updated_at = now()""",
        sku,
        expected_on,
    )


# --- receipts -------------------------------------------------------------------


async def claim_receipt(
    conn: Conn, receipt_id: str, sku: str, warehouse: str, quantity: int, at: datetime
) -> bool:
    """Records the receipt before its goods are counted; False when it was recorded before
    (a concurrent one with the same id waits here until the first commits)."""
    result = await conn.execute(
        """INSERT INTO stock_receipts (receipt_id, sku, warehouse, quantity, served,
               received_at)
           VALUES ($1, $2, $3, $4, '[]'::jsonb, $5) ON CONFLICT (receipt_id) DO NOTHING""",
        receipt_id,
        sku,
        warehouse,
        quantity,
        at,
    )
    return result.endswith(" 1")


async def set_served(conn: Conn, receipt_id: str, served: list[dict[str, Any]]) -> None:
    await conn.execute(
        "UPDATE stock_receipts SET served = $2 WHERE receipt_id = $1", receipt_id, served
    )


async def receipt(conn: Conn, receipt_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        """SELECT receipt_id, sku, warehouse, quantity, served, received_at
           FROM stock_receipts WHERE receipt_id = $1""",
        receipt_id,
    )
    return dict(row) if row else None
