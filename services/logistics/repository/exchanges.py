"""SQL for exchanges: the replacement held, given back or shipped, and what the stock
rows and the backorder queue say of a SKU."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.logistics.domain.exchanges import Exchange, Shelf
from services.logistics.domain.stock import StockLevel
from services.logistics.repository.orders import _LEVEL_OF_S, Conn, _level
from shared.contracts.envelope import Money
from shared.contracts.events.common import ExchangeItem

_COLUMNS = """exchange_id, order_id, state, sku, quantity, warehouse, replacement, reason,
    shipment_id"""


def _exchange(row: asyncpg.Record | None) -> Exchange | None:
    if row is None:
        return None
    values = dict(row)
    if values["replacement"] is not None:
        values["replacement"] = ExchangeItem.model_validate(values["replacement"])
    return Exchange(**values)


async def of_id(conn: Conn, exchange_id: str) -> Exchange | None:
    """The exchange, locked for this transaction."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM exchanges WHERE exchange_id = $1 FOR UPDATE",  # noqa: S608
        exchange_id,
    )
    return _exchange(row)


async def shelves(conn: Conn, sku: str) -> list[Shelf]:
    """The SKU's stock rows (locked by `lock_stock` first when they are to change)."""
    rows = await conn.fetch(
        """SELECT sku, warehouse, name, variant, on_hand - reserved AS available
           FROM stock WHERE sku = $1 ORDER BY warehouse""",
        sku,
    )
    return [Shelf(**dict(r)) for r in rows]


async def owed(conn: Conn, sku: str) -> int:
    """The units of the SKU the open and waiting backorders are still short of."""
    value = await conn.fetchval(
        """SELECT COALESCE(sum((x->>'quantity')::int - COALESCE((x->>'filled')::int, 0)), 0)
           FROM backorders b, jsonb_array_elements(b.lines) AS x
           WHERE b.state IN ('open', 'waiting') AND $1 = ANY(b.skus) AND x->>'sku' = $1""",
        sku,
    )
    return int(value)


async def latest_price(conn: Conn, sku: str) -> Money | None:
    row = await conn.fetchrow(
        """SELECT amount, currency FROM price_history WHERE sku = $1
           ORDER BY changed_at DESC LIMIT 1""",
        sku,
    )
    return Money(amount=row["amount"], currency=row["currency"]) if row else None


async def refused(conn: Conn, e: Exchange) -> bool:
    """Records a refused exchange; False when the exchange was recorded before."""
    result = await conn.execute(
        """INSERT INTO exchanges (exchange_id, order_id, state, sku, quantity, reason)
           VALUES ($1, $2, 'unavailable', $3, $4, $5) ON CONFLICT DO NOTHING""",
        e.exchange_id,
        e.order_id,
        e.sku,
        e.quantity,
        e.reason,
    )
    return bool(result.endswith(" 1"))


async def hold(conn: Conn, e: Exchange, item: dict[str, Any]) -> StockLevel | None:
    """Holds the replacement: the exchange recorded and its stock row's reserved count
    raised, in one statement (the row locked by `lock_stock` first). The new level; None
    when the exchange was recorded before (nothing held again)."""
    row = await conn.fetchrow(
        f"""WITH held AS (
                INSERT INTO exchanges (exchange_id, order_id, state, sku, quantity, warehouse,
                    replacement)
                VALUES ($1, $2, 'held', $3, $4, $5, $6) ON CONFLICT DO NOTHING
                RETURNING sku, warehouse, quantity)
            UPDATE stock s SET reserved = s.reserved + held.quantity, updated_at = now()
            FROM held WHERE s.sku = held.sku AND s.warehouse = held.warehouse
            RETURNING {_LEVEL_OF_S}""",  # noqa: S608
        e.exchange_id,
        e.order_id,
        e.sku,
        e.quantity,
        e.warehouse,
        item,
    )
    return _level(row) if row else None


async def unhold(conn: Conn, e: Exchange, state: str, *, consumed: bool) -> StockLevel:
    """The exchange's units stop being held and it moves to `state`: back on the shelf
    (released), or gone with its parcel (`consumed`); the row locked first. The new level."""
    row = await conn.fetchrow(
        f"""WITH moved AS (
                UPDATE exchanges SET state = $2, updated_at = now() WHERE exchange_id = $1)
            UPDATE stock s SET reserved = s.reserved - $5,
                on_hand = s.on_hand - CASE WHEN $6 THEN $5 ELSE 0 END, updated_at = now()
            WHERE s.sku = $3 AND s.warehouse = $4
            RETURNING {_LEVEL_OF_S}""",  # noqa: S608
        e.exchange_id,
        state,
        e.sku,
        e.warehouse,
        e.quantity,
        consumed,
    )
    if row is None:
        raise LookupError(f"the stock row of exchange {e.exchange_id} is missing")
    return _level(row)


async def shipping(conn: Conn, exchange_id: str, shipment_id: str) -> None:
    await conn.execute(
        """UPDATE exchanges SET state = 'shipping', shipment_id = $2, updated_at = now()
           WHERE exchange_id = $1""",
        exchange_id,
        shipment_id,
    )


async def held_on(conn: Conn, sku: str, warehouse: str) -> int:
    """The units exchanges hold on one stock row."""
    value = await conn.fetchval(
        """SELECT COALESCE(sum(quantity), 0) FROM exchanges
           WHERE sku = $1 AND warehouse = $2 AND state IN ('held', 'shipping')""",
        sku,
        warehouse,
    )
    return int(value)
