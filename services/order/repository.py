"""SQL of the order service: the only module that knows its tables."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from services.order.deps import Deps
from services.order.domain.order import Entry, Order, Outcome, Stage
from services.order.domain.stuck import STAGES, anchors
from shared.contracts.events.common import Address, Contact, Locale, OrderLine, PaymentMethod
from shared.unit import Unit

_COLUMNS = (
    "order_id, customer_id, stage, cancellation_requested, ended_reason, currency, total_amount,"
    " paid_amount, refunded_amount, payment_method, payment_status, payment_due_at, paid_at,"
    " promised_ship_date, locale, time_zone, lines, contact, address, gift_message, payment,"
    " shipment, refunds, applied, placed_at, updated_at, shipping_fee, discount_amount,"
    " coupon_code, courier, courier_fee, parcels, backorder"
)

# Where each stuck-order stage's clock starts (domain.stuck.anchors), derived from the order
# and written with it: the periodic check reads them through their partial indexes.
_ANCHORS = "awaiting_request_since, ship_by, silent_since, refund_waiting_since"


def _anchors(order: Order) -> tuple[Any, ...]:
    a = anchors(order)
    return (a.awaiting_payment_request, a.not_shipped, a.silent_in_transit, a.refund_unanswered)


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
        order.shipping_fee,
        order.discount,
        order.coupon_code,
        order.courier,
        order.courier_fee,
        order.parcels,
        order.backorder,
        *_anchors(order),
    )


# What a decision may change; the rest is fixed when the order is placed.
_CHANGING = (
    "stage, cancellation_requested, ended_reason, paid_amount, refunded_amount,"
    " payment_status, payment_due_at, paid_at, promised_ship_date, payment, shipment,"
    " parcels, backorder, refunds, applied, updated_at, " + _ANCHORS
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
        order.parcels,
        order.backorder,
        order.refunds,
        order.applied,
        now,
        *_anchors(order),
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
        shipping_fee=row["shipping_fee"],
        discount=row["discount_amount"],
        coupon_code=row["coupon_code"],
        courier=row["courier"],
        courier_fee=row["courier_fee"],
        parcels=row["parcels"],
        backorder=row["backorder"],
    )


_INSERTED = f"{_COLUMNS}, {_ANCHORS}"
_N = len(_INSERTED.split(","))  # the order's columns: $1 (its id) to $37
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
_INSERT = f"""WITH placed AS (INSERT INTO orders ({_INSERTED}) VALUES ({_PLACEHOLDERS})),
    {_entries(_E)} SELECT 1"""  # noqa: S608
_C = len(_CHANGING.split(",")) + 1  # the changing columns: $2 to $21, after the id
_SETS = ", ".join(f"{name.strip()} = ${i}" for i, name in enumerate(_CHANGING.split(","), 2))
_SAVE = f"WITH {_entries(_C + 1)} UPDATE orders SET {_SETS} WHERE order_id = $1"  # noqa: S608


def _entry_arrays(entries: list[Entry]) -> tuple[list[Any], ...]:
    return tuple([getattr(e, name) for e in entries] for name in ("key", "at", "kind", "details"))


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


# Stuck orders: one indexed range per stage (its anchor column's partial index), each row
# with when the order entered the stage (`since`) and when it became stuck there (`due_at`).
# A stage whose threshold is NULL finds nothing (the listing of one stage).
_STUCK = """
    SELECT 'awaiting_payment_request' AS stage, order_id, awaiting_request_since AS since,
           awaiting_request_since AS anchor, awaiting_request_since + $1::interval AS due_at
      FROM orders WHERE awaiting_request_since <= $5::timestamptz - $1::interval
    UNION ALL
    SELECT 'not_shipped', order_id, coalesce(paid_at, placed_at), ship_by, ship_by + $2::interval
      FROM orders WHERE ship_by <= $5::timestamptz - $2::interval
    UNION ALL
    SELECT 'silent_in_transit', order_id, silent_since, silent_since, silent_since + $3::interval
      FROM orders WHERE silent_since <= $5::timestamptz - $3::interval
    UNION ALL
    SELECT 'refund_unanswered', order_id, refund_waiting_since, refund_waiting_since,
           refund_waiting_since + $4::interval
      FROM orders WHERE refund_waiting_since <= $5::timestamptz - $4::interval"""
_UNREPORTED = """NOT EXISTS (SELECT 1 FROM stuck_reports r
    WHERE r.order_id = f.order_id AND r.stage = f.stage AND r.since = f.since)"""
_COUNT_STUCK = f"""SELECT stage, count(*) AS stuck, count(*) FILTER (WHERE {_UNREPORTED}) AS fresh
    FROM ({_STUCK}) f GROUP BY stage"""  # noqa: S608 (constant SQL)
_LIST_STUCK = f"""SELECT stage, order_id, since, anchor, due_at FROM ({_STUCK}) f
    WHERE NOT $6::boolean OR {_UNREPORTED} ORDER BY since, order_id, stage LIMIT $7"""  # noqa: S608
_STUCK_CHECK_LOCK = 0x0F0F_3003  # the advisory lock of the periodic check (one replica)


def _limits(thresholds: Mapping[str, float | None]) -> list[timedelta | None]:
    return [
        None if (s := thresholds.get(stage)) is None else timedelta(seconds=s) for stage in STAGES
    ]


async def count_stuck(
    conn: asyncpg.Connection, thresholds: Mapping[str, float | None], now: datetime
) -> dict[str, tuple[int, int]]:
    """Per stage: (stuck orders, those not yet reported in their current stay)."""
    rows = await conn.fetch(_COUNT_STUCK, *_limits(thresholds), now)
    return {row["stage"]: (row["stuck"], row["fresh"]) for row in rows}


async def stuck(
    conn: asyncpg.Connection,
    thresholds: Mapping[str, float | None],
    now: datetime,
    *,
    unreported: bool = False,
    limit: int,
) -> list[asyncpg.Record]:
    """Stuck orders, the longest in their stage first (only those not yet reported in their
    current stay when `unreported`): stage, order_id, since, anchor, due_at."""
    return list(await conn.fetch(_LIST_STUCK, *_limits(thresholds), now, unreported, limit))


async def report_stuck(
    conn: asyncpg.Connection, found: list[asyncpg.Record]
) -> list[tuple[str, str, datetime]]:
    """Records each (order, stage, since) as reported; those recorded before are left out."""
    rows = await conn.fetch(
        """INSERT INTO stuck_reports (order_id, stage, since)
           SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
           ON CONFLICT DO NOTHING RETURNING order_id, stage, since""",
        [f["order_id"] for f in found],
        [f["stage"] for f in found],
        [f["since"] for f in found],
    )
    return [(r["order_id"], r["stage"], r["since"]) for r in rows]


async def lock_stuck_check(conn: asyncpg.Connection) -> bool:
    """Whether this transaction runs the check: False while another replica runs it."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _STUCK_CHECK_LOCK))


# Operations' search (domain.search): one indexed range per kind, newest first, from the
# row after the cursor (placed_at, order_id) of the page before.
_FOUND = """SELECT order_id, stage, currency, total_amount, placed_at, contact,
    address ->> 'recipient' AS recipient FROM orders WHERE {match}
    AND ($2::timestamptz IS NULL OR (placed_at, order_id) < ($2, $3))
    ORDER BY placed_at DESC, order_id DESC LIMIT $4"""
_SEARCH = {
    "order_id": _FOUND.format(match="order_id = $1"),
    "email": _FOUND.format(match="lower(contact ->> 'email') = $1"),
    "phone": _FOUND.format(match="(contact ->> 'phone' = $1 OR address ->> 'phone' = $1)"),
}


async def search(
    conn: asyncpg.Connection,
    kind: str,
    value: str,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[asyncpg.Record]:
    at, order_id = after or (None, None)
    return list(await conn.fetch(_SEARCH[kind], value, at, order_id, limit))


async def purge_stuck_reports(conn: asyncpg.Connection, older_than_days: float) -> int:
    """Deletes reports older than the retention whose stay is over (the order's stage began
    again or ended), a batch at a time; a report of a stay still going is kept, so that
    the order is never reported twice for it."""
    status = await conn.execute(
        """DELETE FROM stuck_reports WHERE ctid IN (
             SELECT r.ctid FROM stuck_reports r JOIN orders o USING (order_id)
             WHERE r.reported_at < now() - make_interval(secs => $1)
               AND r.since IS DISTINCT FROM CASE r.stage
                   WHEN 'awaiting_payment_request' THEN o.awaiting_request_since
                   WHEN 'not_shipped' THEN CASE WHEN o.ship_by IS NOT NULL
                                                THEN coalesce(o.paid_at, o.placed_at) END
                   WHEN 'silent_in_transit' THEN o.silent_since
                   WHEN 'refund_unanswered' THEN o.refund_waiting_since END
             LIMIT 5000)""",
        older_than_days * 86_400,
    )
    return int(status.split()[-1])
