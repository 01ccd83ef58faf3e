"""A provider session that opens while its order ends: the attempt the order's end
expired stays expired (no payment request is told for it), and one still pending opens."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from services.payment import repository as repo
from services.payment.domain import Attempt, AttemptStatus, PaymentState
from shared.contracts.events.common import PaymentMethod
from shared.runtime import Runtime
from tests.support.events import new_order_id
from tests.support.polling import eventually


async def _attempt(conn: asyncpg.Connection, order_id: str) -> Attempt:
    now = datetime.now(UTC)
    payment = PaymentState(order_id, PaymentMethod.CARD, 9_900, "CNY", None, None, None)
    assert await repo.insert_payment(conn, payment, now)
    attempt = Attempt(
        f"pat_{uuid.uuid4().hex[:12]}", order_id, 1, PaymentMethod.CARD, "sandbox",
        None, None, None, AttemptStatus.PENDING, None, now,
    )  # fmt: skip
    await repo.insert_attempt(conn, attempt)
    return attempt


async def test_a_session_opened_while_the_order_ends_keeps_the_attempt_expired(
    payment: Runtime,
) -> None:
    """The order's end expires the attempt in a transaction still open when the provider's
    session comes back: opening waits for it, then leaves the attempt expired."""
    order_id = new_order_id()
    links = ("sess-1", "https://pay.example/1", None)
    async with payment.db.acquire() as ending, payment.db.acquire() as opening:
        attempt = await _attempt(ending, order_id)
        end = ending.transaction()
        await end.start()
        await repo.close_live_attempts(ending, order_id, AttemptStatus.EXPIRED, datetime.now(UTC))
        pid = opening.get_server_pid()
        opened = asyncio.create_task(
            repo.open_session(opening, attempt.attempt_id, links, datetime.now(UTC))
        )
        await eventually(
            lambda: payment.db.fetchval(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
            ),
            what="the session's opening waiting for the order's end",
        )
        await end.commit()
        found = await opened
        after = await repo.attempt_by_id(ending, attempt.attempt_id)
    assert found is not None
    before, was_pending = found
    assert (before.status, was_pending) == (AttemptStatus.EXPIRED, False)
    assert after is not None
    assert (after.status, after.session_id) == (AttemptStatus.EXPIRED, "sess-1")


async def test_a_pending_attempt_opens_with_its_session(payment: Runtime) -> None:
    order_id = new_order_id()
    links = ("sess-2", "https://pay.example/2", None)
    async with payment.db.acquire() as conn, conn.transaction():
        attempt = await _attempt(conn, order_id)
        found = await repo.open_session(conn, attempt.attempt_id, links, datetime.now(UTC))
        assert found is not None and found[1], "it was pending"
        after = await repo.attempt_by_id(conn, attempt.attempt_id)
        assert after is not None
        assert (after.status, after.checkout_url) == (AttemptStatus.OPEN, "https://pay.example/2")
        assert await repo.open_session(conn, "pat_unknown", links, datetime.now(UTC)) is None
