"""SQL of the order service: the only module that knows its tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.order.deps import Deps
from services.order.domain.order import Entry, Order, Outcome, Stage
from shared.contracts.events.common import Address, Contact, Locale, OrderLine, PaymentMethod
from shared.unit import Unit

_COLUMNS = (
    "order_id, customer_id, stage, cancellation_requested, ended_reason, currency, total_amount,"
    " paid_amount, refunded_amount, payment_method, payment_status, payment_due_at, paid_at,"
    " promised_ship_date, locale, time_zone, lines, contact, address, gift_message, payment,"
    " shipment, refunds, applied, placed_at, updated_at"
)


def _row(order: Order, now: datetime) -> tuple[Any, ...]:
    return (
        order.order_id,
        order.customer_id,
        order.stage.value,
        order.cancellation_requested,
        order.ended_reason,
        order.currency,
        order.total,
        order.paid_amount,
        order.refunded_amount,
        order.payment_method.value,
        order.payment_status,
        order.payment_due_at,
        order.paid_at,
        order.promised_ship_date,
        order.locale.value,
        order.time_zone,
        [line.model_dump(mode="json") for line in order.lines],
        order.contact.model_dump(mode="json"),
        order.address.model_dump(mode="json"),
        order.gift_message,
        order.payment,
        order.shipment,
        order.refunds,
        order.applied,
        order.placed_at,
        now,
    )


# What a decision may change; the rest is fixed when the order is placed.
_CHANGING = (
    "stage, cancellation_requested, ended_reason, paid_amount, refunded_amount,"
    " payment_status, payment_due_at, paid_at, promised_ship_date, payment, shipment,"
    " refunds, applied, updated_at"
)


def _changes(order: Order, now: datetime) -> tuple[Any, ...]:
    return (
        order.order_id,
        order.stage.value,
        order.cancellation_requested,
        order.ended_reason,
        order.paid_amount,
        order.refunded_amount,
        order.payment_status,
        order.payment_due_at,
        order.paid_at,
        order.promised_ship_date,
        order.payment,
        order.shipment,
        order.refunds,
        order.applied,
        now,
    )


def _order(row: asyncpg.Record) -> Order:
    return Order(
        order_id=row["order_id"],
        customer_id=row["customer_id"],
        stage=Stage(row["stage"]),
        currency=row["currency"],
        total=row["total_amount"],
        payment_method=PaymentMethod(row["payment_method"]),
        locale=Locale(row["locale"]),
        time_zone=row["time_zone"],
        lines=tuple(OrderLine.model_validate(line) for line in row["lines"]),
        contact=Contact.model_validate(row["contact"]),
        address=Address.model_validate(row["address"]),
        placed_at=row["placed_at"],
        payment_due_at=row["payment_due_at"],
        gift_message=row["gift_message"],
        payment_status=row["payment_status"],
        paid_amount=row["paid_amount"],
        paid_at=row["paid_at"],
        refunded_amount=row["refunded_amount"],
        cancellation_requested=row["cancellation_requested"],
        ended_reason=row["ended_reason"],
        promised_ship_date=row["promised_ship_date"],
        payment=row["payment"],
        shipment=row["shipment"],
        refunds=row["refunds"],
        applied=row["applied"],
    )


_N = len(_COLUMNS.split(","))  # the order's columns: $1 (its id) to $26


_E = _N + 1  # the timeline entries' arrays follow the order's columns (the insert's)
_ENTRY_COLUMNS = (
    "entries AS (INSERT INTO order_timeline (order_id, entry_key, at, kind, details)"
    " SELECT $1, e.key, e.at, e.kind, e.details"
    " FROM unnest(${0}::text[], ${1}::timestamptz[], ${2}::text[], ${3}::jsonb[])"
    " WITH ORDINALITY AS e(key, at, kind, details, n)"
    " ORDER BY e.n ON CONFLICT (order_id, entry_key) DO NOTHING)"
)


def _entries(first: int) -> str:
    """Adds timeline entries (four arrays from parameter `first`) in their order; an entry
    already recorded for the same fact is kept as it was."""
    return _ENTRY_COLUMNS.format(first, first + 1, first + 2, first + 3)


_PLACEHOLDERS = ", ".join(f"${i}" for i in range(1, _N + 1))
_INSERT = f"""WITH placed AS (INSERT INTO orders ({_COLUMNS}) VALUES ({_PLACEHOLDERS})),
    {_entries(_E)} SELECT 1"""  # noqa: S608
_C = len(_CHANGING.split(",")) + 1  # the changing columns: $2 to $15, after the id
_SETS = ", ".join(f"{name.strip()} = ${i}" for i, name in enumerate(_CHANGING.split(","), 2))
_SAVE = f"WITH {_entries(_C + 1)} UPDATE orders SET {_SETS} WHERE order_id = $1"  # noqa: S608


def _entry_arrays(entries: list[Entry]) -> tuple[list[Any], ...]:
    return (
        [e.key for e in entries],
        [e.at for e in entries],
        [e.kind for e in entries],
        [e.details for e in entries],
    )


async def insert(conn: asyncpg.Connection, order: Order, entries: list[Entry]) -> None:
    """The new order and its first timeline entries, in one statement."""
    await conn.execute(_INSERT, *_row(order, order.placed_at), *_entry_arrays(entries))


async def save(conn: asyncpg.Connection, order: Order, now: datetime, entries: list[Entry]) -> None:
    """What a decision changed of the order (not what placing it fixed: its lines, contact
    and address are not written again) and the timeline entries it adds, in one statement."""
    await conn.execute(_SAVE, *_changes(order, now), *_entry_arrays(entries))


async def load(conn: asyncpg.Connection, order_id: str, *, lock: bool = False) -> Order | None:
    """The order, locked for the transaction when `lock` (handlers and commands change it)."""
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM orders WHERE order_id = $1{suffix}",  # noqa: S608
        order_id,
    )
    return _order(row) if row else None


async def load_locked(conn: asyncpg.Connection, order_id: str) -> Order | None:
    return await load(conn, order_id, lock=True)


async def timeline(conn: asyncpg.Connection, order_id: str) -> list[Entry]:
    rows = await conn.fetch(
        """SELECT entry_key, at, kind, details FROM order_timeline
           WHERE order_id = $1 ORDER BY at, seq""",
        order_id,
    )
    return [Entry(r["entry_key"], r["at"], r["kind"], r["details"]) for r in rows]


_BY_TIME = "ORDER BY at, seq"
_SNAPSHOT = f"""SELECT {_COLUMNS}, t.keys, t.ats, t.kinds, t.details AS entry_details
    FROM orders LEFT JOIN LATERAL (
        SELECT array_agg(entry_key {_BY_TIME}) AS keys, array_agg(at {_BY_TIME}) AS ats,
               array_agg(kind {_BY_TIME}) AS kinds, array_agg(details {_BY_TIME}) AS details
        FROM order_timeline WHERE order_timeline.order_id = orders.order_id) t ON true
    WHERE orders.order_id = $1"""  # noqa: S608


async def snapshot(pool: asyncpg.Pool, order_id: str) -> tuple[Order, list[Entry]] | None:
    """The order and its timeline as of one moment (one statement, so one snapshot): never
    a step without its effect."""
    row = await pool.fetchrow(_SNAPSHOT, order_id)
    if row is None:
        return None
    columns = (row["keys"] or [], row["ats"] or [], row["kinds"] or [], row["entry_details"] or [])
    return _order(row), [Entry(*values) for values in zip(*columns, strict=True)]


async def customer_orders(
    conn: asyncpg.Connection,
    customer_id: str,
    *,
    limit: int,
    before: tuple[datetime, str] | None,
) -> list[Order]:
    """A customer's orders, newest first, after the keyset cursor `before`."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM orders
            WHERE customer_id = $1
              AND ($2::timestamptz IS NULL OR (placed_at, order_id) < ($2, $3))
            ORDER BY placed_at DESC, order_id DESC LIMIT $4""",  # noqa: S608
        customer_id,
        before[0] if before else None,
        before[1] if before else "",
        limit,
    )
    return [_order(row) for row in rows]


async def claim_idempotency_key(
    conn: asyncpg.Connection, key: str, request_hash: str, order_id: str
) -> tuple[str, str] | None:
    """Claims `key` for a new order; if it was claimed before, (its order id, request hash)."""
    claimed = await conn.fetchval(
        """INSERT INTO idempotency_keys (key, request_hash, order_id) VALUES ($1, $2, $3)
           ON CONFLICT (key) DO NOTHING RETURNING key""",
        key,
        request_hash,
        order_id,
    )
    if claimed is not None:
        return None
    row = await conn.fetchrow(
        "SELECT order_id, request_hash FROM idempotency_keys WHERE key = $1", key
    )
    assert row is not None
    return row["order_id"], row["request_hash"]


async def record(unit: Unit[Deps], order: Order, outcome: Outcome) -> None:
    """Saves what a rule decided: the order and its timeline (one statement), its timers
    and its events."""
    await save(unit.conn, order, unit.now, outcome.entries)
    await _consequences(unit, order, outcome)


async def record_new(unit: Unit[Deps], order: Order, outcome: Outcome) -> None:
    """Saves a new order as placing it decided: one insert of the order and its timeline,
    then its timers and events (nothing is updated or read back)."""
    await insert(unit.conn, order, outcome.entries)
    await _consequences(unit, order, outcome)


async def _consequences(unit: Unit[Deps], order: Order, outcome: Outcome) -> None:
    for kind, due_at in outcome.timers.items():
        if due_at is None:
            await unit.cancel_timer(kind, order.order_id)
        else:
            await unit.schedule(kind, order.order_id, due_at)
    for event in outcome.events:
        await unit.emit(event, order_id=order.order_id)
