"""SQL for reconciliation: attempts and exchange charges to ask the provider about, and
the daily report."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.payment.domain import Attempt
from services.payment.domain.exchanges import ExchangeCharge
from services.payment.repository._rows import _select
from services.payment.repository.attempts import _ATTEMPT, _attempt
from services.payment.repository.exchanges import _CHARGE, _charge


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


async def unsettled_exchange_charges(
    conn: asyncpg.Connection,
    providers: list[str],
    older_than: datetime,
    newer_than: datetime,
    asked_before: datetime,
    limit: int,
    now: datetime,
) -> list[ExchangeCharge]:
    """Exchange charges with a session whose end the provider has not reported, opened
    before `older_than`: open ones, and cancelled ones with nothing captured (the customer
    may have paid just before the session closed), on the same terms as attempts. A
    cancelled one whose session was closed since it was last asked is asked once more,
    whatever its age, up to `newer_than` after the close."""
    where = """status IN ('open', 'cancelled') AND session_id IS NOT NULL
        AND provider_state IS DISTINCT FROM 'final' AND provider = ANY($1::text[])
        AND created_at < $2 AND coalesce(closed_at, created_at) >= $3
        AND NOT EXISTS (SELECT 1 FROM ledger l
                        WHERE l.attempt_id = exchange_charges.attempt_id AND l.kind = 'charge')
        AND (checked_at IS NULL
             OR checked_at < closed_at
             OR (checked_at < $4 AND $6 - checked_at >= checked_at - created_at))
        ORDER BY checked_at NULLS FIRST, created_at LIMIT $5"""
    return await _select(
        conn, _charge, _CHARGE, where, providers, older_than, newer_than, asked_before, limit, now
    )


async def mark_exchange_checked(
    conn: asyncpg.Connection, attempt_id: str, state: str, asked_at: datetime
) -> None:
    """The provider was asked about the exchange charge at `asked_at` (when the question
    left, so a close after it is still followed by another question)."""
    await conn.execute(
        """UPDATE exchange_charges SET checked_at = $2, provider_state = $3
           WHERE attempt_id = $1""",
        attempt_id,
        asked_at,
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
    """Attempts and exchange charges with a session opened in [start, end), each with what
    the ledger charged for it (NULL: nothing); `exchange_id` is NULL for an attempt."""
    return await conn.fetch(
        """SELECT attempt_id, order_id, provider, session_id, status, charged, currency,
                  exchange_id
           FROM (SELECT a.attempt_id, a.order_id, a.provider, a.session_id, a.status,
                        l.amount AS charged, l.currency, NULL::text AS exchange_id, a.created_at
                 FROM attempts a
                 LEFT JOIN ledger l ON l.attempt_id = a.attempt_id AND l.kind = 'charge'
                 WHERE a.created_at >= $1 AND a.created_at < $2 AND a.session_id IS NOT NULL
                 UNION ALL
                 SELECT e.attempt_id, e.order_id, e.provider, e.session_id, e.status,
                        l.amount, l.currency, e.exchange_id, e.created_at
                 FROM exchange_charges e
                 LEFT JOIN ledger l ON l.attempt_id = e.attempt_id AND l.kind = 'charge'
                 WHERE e.created_at >= $1 AND e.created_at < $2 AND e.session_id IS NOT NULL
                ) opened
           ORDER BY created_at, attempt_id LIMIT $3""",
        start,
        end,
        limit,
    )
