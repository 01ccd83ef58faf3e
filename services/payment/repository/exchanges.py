"""SQL for exchange charges: what an exchange's price difference is charged through."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.payment.domain.exchanges import ExchangeCharge, ExchangeStatus
from services.payment.repository._rows import _first, _select
from shared.contracts.events.common import PaymentMethod

_CHARGE = """SELECT exchange_id, attempt_id, order_id, method, provider, amount, currency,
                    pay_by, session_id, checkout_url, status, failure_reason, created_at,
                    closed_at
             FROM exchange_charges"""


def _charge(**row: Any) -> ExchangeCharge:
    method, status = PaymentMethod(row["method"]), ExchangeStatus(row["status"])
    return ExchangeCharge(**{**row, "method": method, "status": status})


async def insert_exchange_charge(conn: asyncpg.Connection, charge: ExchangeCharge) -> bool:
    """Records an exchange's charge; False when the exchange has one already."""
    row = await conn.fetchrow(
        """INSERT INTO exchange_charges (exchange_id, attempt_id, order_id, method, provider,
               amount, currency, pay_by, status, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
           ON CONFLICT (exchange_id) DO NOTHING RETURNING exchange_id""",
        charge.exchange_id,
        charge.attempt_id,
        charge.order_id,
        charge.method.value,
        charge.provider,
        charge.amount,
        charge.currency,
        charge.pay_by,
        charge.status.value,
        charge.created_at,
    )
    return row is not None


async def exchange_charge(
    conn: asyncpg.Connection, exchange_id: str, *, lock: bool = False
) -> ExchangeCharge | None:
    where = "exchange_id = $1" + (" FOR UPDATE" if lock else "")
    return _first(await _select(conn, _charge, _CHARGE, where, exchange_id))


async def exchange_charge_by_attempt(
    conn: asyncpg.Connection, attempt_id: str, *, lock: bool = False
) -> ExchangeCharge | None:
    where = "attempt_id = $1" + (" FOR UPDATE" if lock else "")
    return _first(await _select(conn, _charge, _CHARGE, where, attempt_id))


async def exchange_charge_by_session(
    conn: asyncpg.Connection, provider: str, session_id: str
) -> ExchangeCharge | None:
    where = "provider = $1 AND session_id = $2"
    return _first(await _select(conn, _charge, _CHARGE, where, provider, session_id))


async def exchange_charges_of(conn: asyncpg.Connection, order_id: str) -> list[ExchangeCharge]:
    where = "order_id = $1 ORDER BY created_at, exchange_id"
    return await _select(conn, _charge, _CHARGE, where, order_id)


async def exchange_session_opened(
    conn: asyncpg.Connection,
    attempt_id: str,
    session_id: str,
    checkout_url: str | None,
    now: datetime,
) -> tuple[ExchangeCharge, bool] | None:
    """Keeps the session the provider opened on the charge, locked, and opens the charge
    if it was still pending; the charge as it was before, and whether it was pending. One
    statement, so a charge cancelled meanwhile stays cancelled."""
    row = await conn.fetchrow(
        f"""WITH before AS ({_CHARGE} WHERE attempt_id = $1 FOR UPDATE)
            UPDATE exchange_charges c SET session_id = $2, checkout_url = $3,
                status = CASE WHEN before.status = 'pending' THEN 'open' ELSE before.status END,
                updated_at = $4
            FROM before WHERE c.attempt_id = before.attempt_id
            RETURNING before.*""",  # noqa: S608
        attempt_id,
        session_id,
        checkout_url,
        now,
    )
    if row is None:
        return None
    charge = _charge(**dict(row))
    return charge, charge.status == ExchangeStatus.PENDING


async def set_exchange_status(
    conn: asyncpg.Connection,
    attempt_id: str,
    status: ExchangeStatus,
    now: datetime,
    reason: str | None = None,
) -> None:
    await conn.execute(
        """UPDATE exchange_charges SET status = $2,
               failure_reason = coalesce($3, failure_reason), updated_at = $4
           WHERE attempt_id = $1""",
        attempt_id,
        status.value,
        reason,
        now,
    )


async def exchange_session_closed(conn: asyncpg.Connection, attempt_id: str, now: datetime) -> None:
    """The provider closed the charge's session: reconciliation asks about it once more."""
    await conn.execute(
        "UPDATE exchange_charges SET closed_at = $2, updated_at = $2 WHERE attempt_id = $1",
        attempt_id,
        now,
    )
