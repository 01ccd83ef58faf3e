"""SQL for the ledger (charges and refunds as money moved) and the refunds asked of providers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.payment.domain import AttemptStatus, LedgerEntry, Refund, Totals
from services.payment.repository._rows import _first, _select

# ledger

_LEDGER = """SELECT entry_id, order_id, kind, purpose, amount, currency, attempt_id, refund_id,
                    provider, provider_reference, recorded_at FROM ledger"""


_ADD_ENTRY = """INSERT INTO ledger (entry_id, order_id, kind, purpose, amount, currency,
        attempt_id, refund_id, provider, provider_reference, recorded_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"""


def _entry_values(entry: LedgerEntry) -> tuple[Any, ...]:
    return (
        entry.entry_id,
        entry.order_id,
        entry.kind,
        entry.purpose,
        entry.amount,
        entry.currency,
        entry.attempt_id,
        entry.refund_id,
        entry.provider,
        entry.provider_reference,
        entry.recorded_at,
    )


_RECORD_PAYMENT = f"""WITH entry AS ({_ADD_ENTRY}),
         attempt AS (UPDATE attempts SET status = $12, updated_at = $13 WHERE attempt_id = $14)
    UPDATE payments SET paid_attempt_id = $14, updated_at = $13 WHERE order_id = $15"""  # noqa: S608


async def record_payment(
    conn: asyncpg.Connection,
    entry: LedgerEntry,
    attempt_id: str,
    order_id: str,
    status: AttemptStatus,
    now: datetime,
) -> None:
    """The charge that pays the order, in one statement: its ledger entry, its attempt's
    new status and the order's payment marked paid by that attempt."""
    await conn.execute(
        _RECORD_PAYMENT, *_entry_values(entry), status.value, now, attempt_id, order_id
    )


async def add_entry(conn: asyncpg.Connection, entry: LedgerEntry) -> None:
    await conn.execute(_ADD_ENTRY, *_entry_values(entry))


async def charge_of(conn: asyncpg.Connection, attempt_id: str) -> LedgerEntry | None:
    where = "attempt_id = $1 AND kind = 'charge'"
    return _first(await _select(conn, LedgerEntry, _LEDGER, where, attempt_id))


async def payment_charge(conn: asyncpg.Connection, order_id: str) -> LedgerEntry | None:
    """The charge that counts as the order's payment (there is at most one)."""
    where = "order_id = $1 AND kind = 'charge' AND purpose = 'payment'"
    return _first(await _select(conn, LedgerEntry, _LEDGER, where, order_id))


async def refundable_charges(
    conn: asyncpg.Connection, order_id: str
) -> list[tuple[LedgerEntry, int]]:
    """The captures an approved refund may draw on, oldest first: the order's payment and
    its exchanges' charges (a late, duplicate or mismatched capture is refunded apart),
    each with what is refunded or being refunded from it."""
    rows = await conn.fetch(
        f"""{_LEDGER} WHERE order_id = $1 AND kind = 'charge'
                AND purpose IN ('payment', 'exchange') ORDER BY recorded_at, entry_id""",
        order_id,
    )
    found = []
    for row in rows:
        entry = LedgerEntry(**dict(row))
        found.append((entry, await refunding(conn, entry.attempt_id)))
    return found


async def entries_of(conn: asyncpg.Connection, order_id: str) -> list[LedgerEntry]:
    return await _select(
        conn, LedgerEntry, _LEDGER, "order_id = $1 ORDER BY recorded_at, kind", order_id
    )


async def totals(conn: asyncpg.Connection, order_id: str) -> Totals:
    row = await conn.fetchrow(
        """SELECT coalesce(sum(amount) FILTER (WHERE kind = 'charge'), 0) AS captured,
                  coalesce(sum(amount) FILTER (WHERE kind = 'refund'), 0) AS refunded
           FROM ledger WHERE order_id = $1""",
        order_id,
    )
    return Totals(captured=int(row["captured"]), refunded=int(row["refunded"]))


# refunds

_REFUND = """SELECT refund_id, order_id, refund_request_id, charge_attempt_id, reason,
                    requested_amount, amount, currency, status, attempts, last_error
             FROM refunds"""


async def insert_refund(conn: asyncpg.Connection, refund: Refund, now: datetime) -> bool:
    """False when this approval (or this charge's automatic refund) is recorded already."""
    row = await conn.fetchrow(
        """INSERT INTO refunds (refund_id, order_id, refund_request_id, charge_attempt_id,
               reason, requested_amount, amount, currency, status, attempts, last_error,
               created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
           ON CONFLICT DO NOTHING RETURNING refund_id""",
        refund.refund_id,
        refund.order_id,
        refund.refund_request_id,
        refund.charge_attempt_id,
        refund.reason,
        refund.requested_amount,
        refund.amount,
        refund.currency,
        refund.status,
        refund.attempts,
        refund.last_error,
        now,
    )
    return row is not None


async def refund_by_id(
    conn: asyncpg.Connection, refund_id: str, *, lock: bool = False
) -> Refund | None:
    """The refund; `lock` when the caller writes what it decides from it."""
    where = "refund_id = $1 FOR UPDATE" if lock else "refund_id = $1"
    return _first(await _select(conn, Refund, _REFUND, where, refund_id))


async def refunds_of(conn: asyncpg.Connection, order_id: str) -> list[Refund]:
    return await _select(conn, Refund, _REFUND, "order_id = $1 ORDER BY created_at", order_id)


async def refunding(conn: asyncpg.Connection, charge_attempt_id: str) -> int:
    """What is refunded or being refunded from one charge."""
    value = await conn.fetchval(
        """SELECT coalesce(sum(amount), 0) FROM refunds
           WHERE charge_attempt_id = $1 AND status IN ('pending', 'paid')""",
        charge_attempt_id,
    )
    return int(value)


async def update_refund(conn: asyncpg.Connection, refund_id: str, **changes: Any) -> None:
    assert set(changes) <= {"status", "attempts", "last_error", "provider_reference", "updated_at"}
    columns = list(changes)
    assignments = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(columns))
    await conn.execute(
        f"UPDATE refunds SET {assignments} WHERE refund_id = $1",  # noqa: S608 (fixed names)
        refund_id,
        *(changes[name] for name in columns),
    )
