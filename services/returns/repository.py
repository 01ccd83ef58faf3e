"""SQL of the returns service: the only module that knows its tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.returns.domain.exchanges import LIVE_EXCHANGES, OPEN_EXCHANGES
from services.returns.domain.price_difference import Price
from services.returns.domain.records import (
    OPEN_STATUSES,
    Audit,
    Holdings,
    Line,
    OrderView,
    Reason,
    RefundRequest,
)
from shared.contracts.envelope import Money
from shared.contracts.events.common import LineQuantity
from shared.contracts.events.payment import RefundPaid

_OPEN = [str(s) for s in OPEN_STATUSES]
_LIVE = [*_OPEN, "refunded"]
_LIVE_EXCHANGES = [str(s) for s in LIVE_EXCHANGES]
_OPEN_EXCHANGES = [str(s) for s in OPEN_EXCHANGES]
_ORDER = "SELECT * FROM orders WHERE order_id = $1"
_ORDER_LOCKED = _ORDER + " FOR UPDATE"
_REQUEST = "SELECT * FROM refund_requests WHERE id = $1"
_REQUEST_LOCKED = _REQUEST + " FOR UPDATE"


# -- the order read model -------------------------------------------------------------


_PLACED_FACTS = ("currency", "total", "lines", "paid_amount")
_LATER_FACTS = ("promised_ship_date", "shipped_at", "delivered_at", "ended", "auto_refund_reason")
ORDER_FACTS = _PLACED_FACTS + _LATER_FACTS + ("shipping_fee", "paid_at")


async def record_order_facts(conn: asyncpg.Connection, order_id: str, **facts: Any) -> str | None:
    """Upserts what one event says (columns named in ORDER_FACTS); facts already known are
    kept: the first shipping and delivery win, the paid amount only grows. Returns the
    order's refund waiting for its payment (`auto_refund_reason`), as the upsert left it."""
    unknown = set(facts) - set(ORDER_FACTS)
    if unknown:
        raise TypeError(f"not an order fact: {sorted(unknown)}")
    return await conn.fetchval(
        """INSERT INTO orders (order_id, currency, total, lines, paid_amount, promised_ship_date,
               shipped_at, delivered_at, ended, auto_refund_reason, shipping_fee, paid_at)
           VALUES ($1, $2, $3, $4, COALESCE($5, 0), $6, $7, $8, $9, $10, COALESCE($11, 0), $12)
           ON CONFLICT (order_id) DO UPDATE SET
               currency = COALESCE(EXCLUDED.currency, orders.currency),
               total = COALESCE(EXCLUDED.total, orders.total),
               lines = COALESCE(EXCLUDED.lines, orders.lines),
               paid_amount = GREATEST(EXCLUDED.paid_amount, orders.paid_amount),
               promised_ship_date = COALESCE(EXCLUDED.promised_ship_date,
                                             orders.promised_ship_date),
               shipped_at = COALESCE(orders.shipped_at, EXCLUDED.shipped_at),
               delivered_at = COALESCE(orders.delivered_at, EXCLUDED.delivered_at),
               ended = COALESCE(EXCLUDED.ended, orders.ended),
               auto_refund_reason = COALESCE(orders.auto_refund_reason,
                                             EXCLUDED.auto_refund_reason),
               shipping_fee = GREATEST(EXCLUDED.shipping_fee, orders.shipping_fee),
               paid_at = COALESCE(orders.paid_at, EXCLUDED.paid_at),
               updated_at = now()
           RETURNING auto_refund_reason""",
        order_id,
        *(facts.get(name) for name in ORDER_FACTS),
    )


@dataclass(frozen=True)
class Known:
    """A known order's facts were recorded; `waiting` is its refund waiting for a payment."""

    waiting: str | None


_UPDATE_FACTS = """UPDATE orders SET
        currency = COALESCE($2, currency), total = COALESCE($3, total),
        lines = COALESCE($4, lines), paid_amount = GREATEST(COALESCE($5, 0), paid_amount),
        promised_ship_date = COALESCE($6, promised_ship_date),
        shipped_at = COALESCE(shipped_at, $7), delivered_at = COALESCE(delivered_at, $8),
        ended = COALESCE($9, ended), auto_refund_reason = COALESCE(auto_refund_reason, $10),
        shipping_fee = GREATEST(COALESCE($11, 0), shipping_fee),
        paid_at = COALESCE(paid_at, $12), updated_at = now()
    WHERE order_id = $1 RETURNING auto_refund_reason"""


async def update_known_order(conn: asyncpg.Connection, order_id: str, **facts: Any) -> Known | None:
    """Records what one event says of an order returns knows, by the rules of
    `record_order_facts`, in one statement that also locks the row; None (nothing written)
    for an order returns does not know. A `load` for `shared.held.known_or_held`."""
    unknown = set(facts) - set(ORDER_FACTS)
    if unknown:
        raise TypeError(f"not an order fact: {sorted(unknown)}")
    row = await conn.fetchrow(_UPDATE_FACTS, order_id, *(facts.get(name) for name in ORDER_FACTS))
    return None if row is None else Known(row["auto_refund_reason"])


async def lock_order(conn: asyncpg.Connection, order_id: str) -> bool | None:
    """Locks the order's row for the transaction: True, or None for an order returns does
    not know (the row lock serialises the events of one order read from several topics)."""
    found = await conn.fetchval("SELECT true FROM orders WHERE order_id = $1 FOR UPDATE", order_id)
    return True if found else None


async def load_order(
    conn: asyncpg.Connection, order_id: str, *, lock: bool = False
) -> OrderView | None:
    """The order as returns knows it; `lock` serialises requests on one order."""
    sql = _ORDER_LOCKED if lock else _ORDER
    row = await conn.fetchrow(sql, order_id)
    if row is None:
        return None
    lines = {
        line["line_id"]: Line(
            line["line_id"],
            line["sku"],
            line["quantity"],
            line["unit_price"]["amount"],
            (line.get("discount") or {}).get("amount", 0),
        )
        for line in row["lines"] or []
    }
    facts = ("currency", "promised_ship_date", "shipped_at", "delivered_at", "ended")
    return OrderView(
        order_id=order_id,
        lines=lines,
        paid=row["paid_amount"] + row["exchange_paid"],
        shipping_fee=row["shipping_fee"],
        paid_at=row["paid_at"],
        auto_refund_reason=row["auto_refund_reason"],
        **{name: row[name] for name in facts},
    )


async def holdings(conn: asyncpg.Connection, order_id: str) -> Holdings:
    """Refunded money, open requests' amounts, lines held by open requests or exchanges,
    the quantities live return requests and exchanges take, and per line the price
    difference live price_dropped requests took (live: open, approved or refunded)."""
    committed = await conn.fetchval(
        """SELECT (SELECT COALESCE(SUM(amount), 0)::bigint FROM refunds WHERE order_id = $1)
                + (SELECT COALESCE(SUM(amount), 0)::bigint FROM refund_requests
                   WHERE order_id = $1 AND status = ANY($2::text[]))""",
        order_id,
        _OPEN,
    )
    rows = await conn.fetch(
        """SELECT l.line_id, l.open, l.quantity, l.price_difference,
                  l.price_difference_deducted, r.reason, r.status
           FROM refund_request_lines l JOIN refund_requests r ON r.id = l.request_id
           WHERE l.order_id = $1""",
        order_id,
    )
    exchanged = await conn.fetch(
        """SELECT line_id, quantity, price_difference_deducted,
                  status = ANY($3::text[]) AS open
           FROM exchanges WHERE order_id = $1 AND status = ANY($2::text[])""",
        order_id,
        _LIVE_EXCHANGES,
        _OPEN_EXCHANGES,
    )
    used: dict[str, int] = {}
    taken: dict[str, int] = {}
    deducted: dict[str, int] = {}
    for row in rows:
        if row["status"] not in _LIVE:
            continue
        if row["reason"] == Reason.PRICE_DROPPED:  # the goods stay with the customer
            taken[row["line_id"]] = taken.get(row["line_id"], 0) + row["price_difference"]
        else:
            used[row["line_id"]] = used.get(row["line_id"], 0) + row["quantity"]
            share = row["price_difference_deducted"]
            deducted[row["line_id"]] = deducted.get(row["line_id"], 0) + share
    for row in exchanged:  # the units went back in exchange, with their share
        used[row["line_id"]] = used.get(row["line_id"], 0) + row["quantity"]
        share = row["price_difference_deducted"]
        deducted[row["line_id"]] = deducted.get(row["line_id"], 0) + share
    open_lines = frozenset(row["line_id"] for row in [*rows, *exchanged] if row["open"])
    return Holdings(
        committed=committed,
        open_lines=open_lines,
        used_quantity=used,
        price_difference=taken,
        price_difference_deducted=deducted,
    )


# -- refunds ----------------------------------------------------------------------------


async def record_refund(conn: asyncpg.Connection, order_id: str, refund: RefundPaid) -> bool:
    """Records a refund paid for a request, once per refund id; False when it was known."""
    inserted = await conn.fetchval(
        """INSERT INTO refunds (refund_id, order_id, refund_request_id, amount, currency, paid_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (refund_id) DO NOTHING RETURNING true""",
        refund.refund_id,
        order_id,
        refund.refund_request_id,
        refund.amount.amount,
        refund.amount.currency,
        refund.paid_at,
    )
    return bool(inserted)


# -- requests ---------------------------------------------------------------------------


async def insert_request(
    conn: asyncpg.Connection,
    request: RefundRequest,
    idempotency_key: str | None,
    *,
    price_difference: Mapping[str, int] | None = None,
    deducted: Mapping[str, int] | None = None,
) -> bool:
    """Inserts a new request and its lines, with the price difference it takes on each
    (`price_difference`, by line id) or, refunding units, the share of one already refunded
    that it leaves out (`deducted`); False when the idempotency key was used before."""
    taken, kept = price_difference or {}, deducted or {}
    inserted = await conn.fetchval(
        """INSERT INTO refund_requests (id, order_id, idempotency_key, flow, reason, status,
               amount, currency, lines, return_shipping_paid_by, evidence_urls, requested_by,
               rule_due_at, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (order_id, idempotency_key) DO NOTHING RETURNING true""",
        request.id,
        request.order_id,
        idempotency_key,
        request.flow,
        request.reason,
        request.status,
        request.amount,
        request.currency,
        [line.model_dump() for line in request.lines],
        request.return_shipping_paid_by,
        list(request.evidence_urls),
        request.requested_by,
        request.rule_due_at,
        request.created_at,
        request.updated_at,
    )
    if not inserted:
        return False
    await conn.executemany(
        """INSERT INTO refund_request_lines (request_id, order_id, line_id, sku, quantity,
               price_difference, price_difference_deducted)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        [
            (
                *(request.id, request.order_id, ln.line_id, ln.sku, ln.quantity),
                *(taken.get(ln.line_id, 0), kept.get(ln.line_id, 0)),
            )
            for ln in request.lines
        ],
    )
    return True


async def find_by_key(conn: asyncpg.Connection, order_id: str, key: str) -> RefundRequest | None:
    sql = "SELECT * FROM refund_requests WHERE order_id = $1 AND idempotency_key = $2"
    return _one(await conn.fetchrow(sql, order_id, key))


async def get_request(
    conn: asyncpg.Connection, request_id: str, *, lock: bool = False
) -> RefundRequest | None:
    return _one(await conn.fetchrow(_REQUEST_LOCKED if lock else _REQUEST, request_id))


async def list_requests(conn: asyncpg.Connection, order_id: str) -> list[RefundRequest]:
    sql = "SELECT * FROM refund_requests WHERE order_id = $1 ORDER BY created_at, id"
    return [_request(row) for row in await conn.fetch(sql, order_id)]


async def find_return(
    conn: asyncpg.Connection, order_id: str, tracking_number: str
) -> RefundRequest | None:
    """The request whose return parcel travels under `tracking_number` (locked)."""
    sql = """SELECT * FROM refund_requests
             WHERE order_id = $1 AND return_tracking_number = $2 FOR UPDATE"""
    return _one(await conn.fetchrow(sql, order_id, tracking_number))


async def save_request(conn: asyncpg.Connection, request: RefundRequest) -> None:
    """Saves how a request moved on; a request that is no longer open frees its lines."""
    await conn.execute(
        """UPDATE refund_requests SET status = $2, updated_at = $3, flow = $4,
               return_courier = $5, return_tracking_number = $6, rejection_reason = $7,
               return_shipping_paid_by = $8
           WHERE id = $1""",
        request.id,
        request.status,
        request.updated_at,
        request.flow,
        request.return_courier,
        request.return_tracking_number,
        request.rejection_reason,
        request.return_shipping_paid_by,
    )
    if request.status not in _OPEN:
        await conn.execute(
            "UPDATE refund_request_lines SET open = false WHERE request_id = $1", request.id
        )


async def add_audits(conn: asyncpg.Connection, request_id: str, audits: list[Audit]) -> None:
    """Appends steps to a request's audit trail, in order."""
    await conn.executemany(
        """INSERT INTO refund_request_steps (request_id, actor, action, at, details)
           VALUES ($1, $2, $3, $4, $5)""",
        [(request_id, a.actor, a.action, a.at, a.details) for a in audits],
    )


async def audit_trail(conn: asyncpg.Connection, request_id: str) -> list[Audit]:
    return (await audit_trails(conn, [request_id]))[request_id]


async def audit_trails(conn: asyncpg.Connection, request_ids: list[str]) -> dict[str, list[Audit]]:
    """The audit trails of several requests in one query, each in the order it happened."""
    rows = await conn.fetch(
        """SELECT request_id, actor, action, at, details FROM refund_request_steps
           WHERE request_id = ANY($1::text[]) ORDER BY id""",
        request_ids,
    )
    trails: dict[str, list[Audit]] = {request_id: [] for request_id in request_ids}
    for r in rows:
        trails[r["request_id"]].append(Audit(r["actor"], r["action"], r["at"], r["details"]))
    return trails


def _one(row: asyncpg.Record | None) -> RefundRequest | None:
    return _request(row) if row else None


def _request(row: asyncpg.Record) -> RefundRequest:
    values = {name: row[name] for name in RefundRequest.__dataclass_fields__}
    values["lines"] = tuple(LineQuantity(**line) for line in row["lines"])
    values["evidence_urls"] = tuple(row["evidence_urls"])
    return RefundRequest(**values)


# -- the queue awaiting operations ---------------------------------------------------------

# The predicate of the partial index `refund_requests_awaiting` (migration 0002), word for
# word so that the planner proves the index applies.
_AWAITING = """status IN ('requested', 'return_shipped')
      AND NOT (flow = 'before_shipping' AND status = 'requested')"""


async def awaiting(
    conn: asyncpg.Connection,
    *,
    flow: str | None,
    before: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[RefundRequest]:
    """Requests awaiting operations across all orders, oldest first (by when they were
    asked for, then id), from the one after `after` (created_at, id): a page of the queue."""
    since, last_id = after if after is not None else (None, "")
    rows = await conn.fetch(
        f"""SELECT * FROM refund_requests WHERE {_AWAITING}
              AND ($1::text IS NULL OR flow = $1)
              AND ($2::timestamptz IS NULL OR created_at < $2)
              AND ($3::timestamptz IS NULL OR (created_at, id) > ($3, $4))
            ORDER BY created_at, id LIMIT $5""",  # noqa: S608 (a constant predicate)
        flow,
        before,
        since,
        last_id,
        limit,
    )
    return [_request(row) for row in rows]


async def count_awaiting(conn: asyncpg.Connection) -> int:
    """How many requests await operations (read only, on the queue's index)."""
    return int(await conn.fetchval(f"SELECT count(*) FROM refund_requests WHERE {_AWAITING}"))  # noqa: S608


# -- the catalogue's prices (PriceChanged) ----------------------------------------------


async def record_price(conn: asyncpg.Connection, sku: str, price: Money, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO price_history (sku, amount, currency, changed_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (sku, changed_at) DO NOTHING""",
        sku,
        price.amount,
        price.currency,
        at,
    )


async def current_prices(conn: asyncpg.Connection, skus: set[str]) -> dict[str, Price]:
    """Each SKU's latest price and since when (SKUs without a recorded price are absent)."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (sku) sku, amount, currency, changed_at FROM price_history
           WHERE sku = ANY($1::text[]) ORDER BY sku, changed_at DESC""",
        sorted(skus),
    )
    return {r["sku"]: Price(r["amount"], r["currency"], r["changed_at"]) for r in rows}
