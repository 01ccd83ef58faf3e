"""SQL for what an order owes (payments), its attempts and the provider events applied."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.payment.domain import Attempt, AttemptStatus, PaymentState
from services.payment.repository._rows import _first, _select
from shared.contracts.events.common import PaymentMethod

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


async def set_amount(conn: asyncpg.Connection, order_id: str, amount: int, now: datetime) -> None:
    """What the order owes from now on (cash on delivery without a surcharge not owed)."""
    await conn.execute(
        "UPDATE payments SET amount = $2, updated_at = $3 WHERE order_id = $1",
        order_id,
        amount,
        now,
    )


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
