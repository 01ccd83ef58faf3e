"""SQL of exchanges (tables `exchanges` and `exchange_steps`, migrations 0004 to 0006), beside
services.returns.repository, which counts them in an order's holdings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.returns.domain.exchanges import Exchange
from services.returns.domain.records import Audit
from shared.contracts.events.common import ExchangeItem

_EXCHANGE = "SELECT * FROM exchanges WHERE id = $1"
_FIELDS = tuple(Exchange.__dataclass_fields__)
# What a move may change; the rest is fixed when the exchange is requested.
_MOVING = (
    "status", "updated_at", "replacement", "warehouse", "difference", "settlement", "ships",
    "pay_by", "paid_at", "paid_amount", "return_courier", "return_tracking_number",
    "return_shipped_at", "return_received_at", "released_at", "shipment", "delivered_at",
    "outcome_reason",
    "outcome_message", "refund_request_id",
)  # fmt: skip


async def insert_exchange(
    conn: asyncpg.Connection, exchange: Exchange, idempotency_key: str | None
) -> bool:
    """Inserts a new exchange; False when the idempotency key was used before."""
    columns = ", ".join(("idempotency_key", *_FIELDS))
    values = ", ".join(f"${i}" for i in range(1, len(_FIELDS) + 2))
    inserted = await conn.fetchval(
        f"""INSERT INTO exchanges ({columns}) VALUES ({values})
            ON CONFLICT (order_id, idempotency_key) DO NOTHING RETURNING true""",  # noqa: S608 (constant columns)
        idempotency_key,
        *_row(exchange, _FIELDS),
    )
    return bool(inserted)


async def save_exchange(conn: asyncpg.Connection, exchange: Exchange) -> None:
    """Saves how an exchange moved on."""
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(_MOVING, start=2))
    await conn.execute(
        f"UPDATE exchanges SET {sets} WHERE id = $1",  # noqa: S608 (constant columns)
        exchange.id,
        *_row(exchange, _MOVING),
    )


async def get_exchange(
    conn: asyncpg.Connection, exchange_id: str, *, lock: bool = False
) -> Exchange | None:
    row = await conn.fetchrow(_EXCHANGE + (" FOR UPDATE" if lock else ""), exchange_id)
    return _exchange(row) if row else None


async def find_by_key(conn: asyncpg.Connection, order_id: str, key: str) -> Exchange | None:
    sql = "SELECT * FROM exchanges WHERE order_id = $1 AND idempotency_key = $2"
    row = await conn.fetchrow(sql, order_id, key)
    return _exchange(row) if row else None


async def list_exchanges(conn: asyncpg.Connection, order_id: str) -> list[Exchange]:
    sql = "SELECT * FROM exchanges WHERE order_id = $1 ORDER BY created_at, id"
    return [_exchange(row) for row in await conn.fetch(sql, order_id)]


async def awaiting_return(
    conn: asyncpg.Connection, *, after: tuple[datetime, str] | None, limit: int
) -> list[Exchange]:
    """Exchanges whose units are still to come back, oldest first, after the cursor."""
    # the condition of the index exchanges_awaiting_return (migration 0006)
    sql = """SELECT * FROM exchanges
              WHERE return_received_at IS NULL
                AND status IN ('accepted', 'released', 'shipped', 'delivered')
                AND ($1::timestamptz IS NULL OR (created_at, id) > ($1, $2))
              ORDER BY created_at, id LIMIT $3"""
    at, last_id = after if after else (None, None)
    return [_exchange(row) for row in await conn.fetch(sql, at, last_id, limit)]


async def add_captured(conn: asyncpg.Connection, order_id: str, amount: int) -> None:
    """Adds an exchange's captured difference to what the order was paid."""
    await conn.execute(
        "UPDATE orders SET exchange_paid = exchange_paid + $2, updated_at = now() "
        "WHERE order_id = $1",
        order_id,
        amount,
    )


async def add_steps(conn: asyncpg.Connection, exchange_id: str, audits: list[Audit]) -> None:
    """Appends steps to an exchange's audit trail, in order."""
    await conn.executemany(
        """INSERT INTO exchange_steps (exchange_id, actor, action, at, details)
           VALUES ($1, $2, $3, $4, $5)""",
        [(exchange_id, a.actor, a.action, a.at, a.details) for a in audits],
    )


async def trails(conn: asyncpg.Connection, exchange_ids: list[str]) -> dict[str, list[Audit]]:
    """The audit trails of several exchanges in one query, each in the order it happened."""
    rows = await conn.fetch(
        """SELECT exchange_id, actor, action, at, details FROM exchange_steps
           WHERE exchange_id = ANY($1::text[]) ORDER BY id""",
        exchange_ids,
    )
    found: dict[str, list[Audit]] = {exchange_id: [] for exchange_id in exchange_ids}
    for r in rows:
        found[r["exchange_id"]].append(Audit(r["actor"], r["action"], r["at"], r["details"]))
    return found


def _row(exchange: Exchange, names: tuple[str, ...]) -> list[Any]:
    values = []
    for name in names:
        value = getattr(exchange, name)
        values.append(value.model_dump(mode="json") if isinstance(value, ExchangeItem) else value)
    return values


def _exchange(row: asyncpg.Record) -> Exchange:
    values = {name: row[name] for name in _FIELDS}
    if values["replacement"] is not None:
        values["replacement"] = ExchangeItem.model_validate(values["replacement"])
    return Exchange(**values)
