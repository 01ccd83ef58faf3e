"""SQL of the payment service: the only module that knows its tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from services.payment.domain import (
    Attempt,
    AttemptStatus,
    CashMismatch,
    LedgerEntry,
    PaymentState,
    Refund,
    Totals,
)
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod

T = TypeVar("T")


def _first(found: list[T]) -> T | None:
    return found[0] if found else None


async def _select(
    conn: asyncpg.Connection, record: Callable[..., T], select: str, where: str, *args: Any
) -> list[T]:
    """The `record`s of `select` (a fixed query of this module) under `where`."""
    rows = await conn.fetch(f"{select} WHERE {where}", *args)
    return [record(**dict(r)) for r in rows]


# payments


async def insert_payment(conn: asyncpg.Connection, payment: PaymentState, now: datetime) -> bool:
    """Records what an order owes; False when the order is known already."""
    row = await conn.fetchrow(
        """INSERT INTO payments (order_id, method, amount, currency, payment_due_at,
               created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (order_id) DO NOTHING
           RETURNING order_id""",
        payment.order_id,
        payment.method.value,
        payment.amount,
        payment.currency,
        payment.payment_due_at,
        now,
    )
    return row is not None


async def get_payment(
    conn: asyncpg.Connection, order_id: str, *, lock: bool = False
) -> PaymentState | None:
    """The order's payment; `lock` serialises every change to one order's money."""
    sql = """SELECT order_id, method, amount, currency, payment_due_at, paid_attempt_id, ended
             FROM payments WHERE order_id = $1"""
    row = await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), order_id)
    if row is None:
        return None
    return PaymentState(**{**dict(row), "method": PaymentMethod(row["method"])})


async def mark_paid(
    conn: asyncpg.Connection, order_id: str, attempt_id: str, now: datetime
) -> None:
    await _update_payment(conn, order_id, now, "paid_attempt_id", attempt_id)


async def set_method(conn: asyncpg.Connection, order_id: str, method: str, now: datetime) -> None:
    await _update_payment(conn, order_id, now, "method", method)


async def mark_ended(conn: asyncpg.Connection, order_id: str, ended: str, now: datetime) -> None:
    await _update_payment(conn, order_id, now, "ended", ended)


async def _update_payment(
    conn: asyncpg.Connection, order_id: str, now: datetime, column: str, value: str
) -> None:
    assert column in {"paid_attempt_id", "method", "ended"}, column
    await conn.execute(
        f"UPDATE payments SET {column} = $2, updated_at = $3 WHERE order_id = $1",  # noqa: S608
        order_id,
        value,
        now,
    )


# attempts

_ATTEMPT = """SELECT attempt_id, order_id, number, method, provider, session_id, checkout_url,
                     pay_link, status, failure_reason, created_at FROM attempts"""


def _attempt(**row: Any) -> Attempt:
    method, status = PaymentMethod(row["method"]), AttemptStatus(row["status"])
    return Attempt(**{**row, "method": method, "status": status})


async def next_attempt_number(conn: asyncpg.Connection, order_id: str) -> int:
    value = await conn.fetchval(
        "SELECT coalesce(max(number), 0) + 1 FROM attempts WHERE order_id = $1", order_id
    )
    return int(value)


async def insert_attempt(conn: asyncpg.Connection, attempt: Attempt) -> None:
    await conn.execute(
        """INSERT INTO attempts (attempt_id, order_id, number, method, provider, session_id,
               checkout_url, pay_link, status, failure_reason, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)""",
        attempt.attempt_id,
        attempt.order_id,
        attempt.number,
        attempt.method.value,
        attempt.provider,
        attempt.session_id,
        attempt.checkout_url,
        attempt.pay_link,
        attempt.status.value,
        attempt.failure_reason,
        attempt.created_at,
    )


async def attempt_by_id(conn: asyncpg.Connection, attempt_id: str) -> Attempt | None:
    return _first(await _select(conn, _attempt, _ATTEMPT, "attempt_id = $1", attempt_id))


async def open_session(
    conn: asyncpg.Connection,
    attempt_id: str,
    session: tuple[str, str | None, str | None],
    now: datetime,
) -> tuple[Attempt, bool] | None:
    """Keeps the session the provider opened (id, checkout url, pay link) on the attempt,
    locked, and opens the attempt if it was still pending; the attempt as it was before,
    and whether it was pending. None for an unknown attempt. One statement, so an attempt
    expired or superseded meanwhile keeps its status."""
    row = await conn.fetchrow(
        f"""WITH before AS ({_ATTEMPT} WHERE attempt_id = $1 FOR UPDATE)
            UPDATE attempts a SET session_id = $2, checkout_url = $3, pay_link = $4,
                status = CASE WHEN before.status = 'pending' THEN 'open' ELSE before.status END,
                updated_at = $5
            FROM before WHERE a.attempt_id = before.attempt_id
            RETURNING before.*""",  # noqa: S608
        attempt_id,
        *session,
        now,
    )
    if row is None:
        return None
    attempt = _attempt(**dict(row))
    return attempt, attempt.status == AttemptStatus.PENDING


async def attempt_by_session(
    conn: asyncpg.Connection, provider: str, session_id: str
) -> Attempt | None:
    where = "provider = $1 AND session_id = $2"
    return _first(await _select(conn, _attempt, _ATTEMPT, where, provider, session_id))


async def attempts_of(conn: asyncpg.Connection, order_id: str) -> list[Attempt]:
    return await _select(conn, _attempt, _ATTEMPT, "order_id = $1 ORDER BY number", order_id)


async def set_attempt_status(
    conn: asyncpg.Connection,
    attempt_id: str,
    status: AttemptStatus,
    now: datetime,
    reason: str | None = None,
) -> None:
    sets = "status = $3, failure_reason = coalesce($4, failure_reason)"
    await _update_attempt(conn, attempt_id, now, sets, status.value, reason)


async def _update_attempt(
    conn: asyncpg.Connection, attempt_id: str, now: datetime, sets: str, *values: Any
) -> None:
    """`sets` (fixed assignments of this module, from $3) and the time of the change."""
    await conn.execute(
        f"UPDATE attempts SET {sets}, updated_at = $2 WHERE attempt_id = $1",  # noqa: S608
        attempt_id,
        now,
        *values,
    )


async def close_live_attempts(
    conn: asyncpg.Connection, order_id: str, status: AttemptStatus, now: datetime
) -> None:
    """Pending, open or failed attempts of the order become superseded (a retry) or
    expired (the end)."""
    await conn.execute(
        """UPDATE attempts SET status = $2, updated_at = $3
           WHERE order_id = $1 AND status IN ('pending', 'open', 'failed')""",
        order_id,
        status.value,
        now,
    )


# provider callbacks


async def claim_provider_event(
    conn: asyncpg.Connection,
    provider: str,
    event_id: str,
    order_id: str,
    outcome: str,
    effect: str,
) -> bool:
    """Records a provider event with the effect it had; True the first time it is seen (a
    concurrent twin waits, then gets False)."""
    row = await conn.fetchrow(
        """INSERT INTO provider_events (provider, event_id, order_id, outcome, effect)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING event_id""",
        provider,
        event_id,
        order_id,
        outcome,
        effect,
    )
    return row is not None


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


# reconciliation


async def unsettled_attempts(
    conn: asyncpg.Connection,
    providers: list[str],
    older_than: datetime,
    newer_than: datetime,
    asked_before: datetime,
    limit: int,
    now: datetime,
) -> list[Attempt]:
    """Attempts with a session whose end the provider has not reported (open, or closed
    by us meanwhile), opened between `newer_than` and `older_than`, not asked about since
    `asked_before`: those never asked first, then those asked least recently. One asked
    before waits at least as long again as it was old when asked, so an abandoned attempt
    is asked a few times over the horizon, not at every pass."""
    where = """status IN ('open', 'expired', 'superseded') AND session_id IS NOT NULL
        AND provider_state IS DISTINCT FROM 'final' AND provider = ANY($1::text[])
        AND created_at < $2 AND created_at >= $3
        AND (checked_at IS NULL
             OR (checked_at < $4 AND $6 - checked_at >= checked_at - created_at))
        ORDER BY checked_at NULLS FIRST, created_at LIMIT $5"""
    return await _select(
        conn, _attempt, _ATTEMPT, where, providers, older_than, newer_than, asked_before, limit, now
    )


async def mark_checked(
    conn: asyncpg.Connection, attempt_id: str, state: str, now: datetime
) -> None:
    """The provider was asked about the attempt: 'pending', or 'final' once it reported an
    end (it is not asked again)."""
    await conn.execute(
        "UPDATE attempts SET checked_at = $2, provider_state = $3 WHERE attempt_id = $1",
        attempt_id,
        now,
        state,
    )


async def day_totals(
    conn: asyncpg.Connection, start: datetime, end: datetime
) -> list[asyncpg.Record]:
    """Captured and refunded per provider and currency, recorded in [start, end)."""
    return await conn.fetch(
        """SELECT provider, currency,
                  coalesce(sum(amount) FILTER (WHERE kind = 'charge'), 0) AS captured,
                  count(*) FILTER (WHERE kind = 'charge') AS charges,
                  coalesce(sum(amount) FILTER (WHERE kind = 'refund'), 0) AS refunded,
                  count(*) FILTER (WHERE kind = 'refund') AS refunds
           FROM ledger WHERE recorded_at >= $1 AND recorded_at < $2
           GROUP BY provider, currency ORDER BY provider, currency""",
        start,
        end,
    )


async def day_attempts(
    conn: asyncpg.Connection, start: datetime, end: datetime, limit: int
) -> list[asyncpg.Record]:
    """Attempts with a session opened in [start, end), each with what the ledger charged
    for it (NULL: nothing)."""
    return await conn.fetch(
        """SELECT a.attempt_id, a.order_id, a.provider, a.session_id, a.status,
                  l.amount AS charged, l.currency
           FROM attempts a LEFT JOIN ledger l ON l.attempt_id = a.attempt_id AND l.kind = 'charge'
           WHERE a.created_at >= $1 AND a.created_at < $2 AND a.session_id IS NOT NULL
           ORDER BY a.created_at LIMIT $3""",
        start,
        end,
        limit,
    )


# cash on delivery


async def add_cash_mismatch(conn: asyncpg.Connection, m: CashMismatch) -> bool:
    """Flags the order's cash mismatch; False when it is flagged already."""
    row = await conn.fetchrow(
        """INSERT INTO cash_mismatches (order_id, attempt_id, shipment_id, kind, due_amount,
               due_currency, collected_amount, collected_currency, delivered_at, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (order_id) DO NOTHING RETURNING order_id""",
        m.order_id,
        m.attempt_id,
        m.shipment_id,
        m.kind,
        m.due.amount,
        m.due.currency,
        m.collected.amount,
        m.collected.currency,
        m.delivered_at,
        m.recorded_at,
    )
    return row is not None


async def cash_mismatches(conn: asyncpg.Connection, limit: int) -> list[CashMismatch]:
    """The latest flagged cash mismatches, newest first."""
    rows = await conn.fetch(
        """SELECT * FROM cash_mismatches ORDER BY recorded_at DESC, order_id LIMIT $1""", limit
    )
    return [
        CashMismatch(
            order_id=r["order_id"],
            attempt_id=r["attempt_id"],
            shipment_id=r["shipment_id"],
            kind=r["kind"],
            due=Money(amount=r["due_amount"], currency=r["due_currency"]),
            collected=Money(amount=r["collected_amount"], currency=r["collected_currency"]),
            delivered_at=r["delivered_at"],
            recorded_at=r["recorded_at"],
        )
        for r in rows
    ]
