"""Two events of one order read from two topics at once (its payment and its shipment, say)
are handled one after the other: the check that returns knows the order, made by every
handler of an event about it (`handlers._known`, with `repository.lock_order`), locks the
order's row for the handling transaction."""

from __future__ import annotations

import asyncpg
import pytest

from services.returns import repository as repo
from shared.runtime import Runtime
from tests.integration.returns.support import seed
from tests.support.events import new_order_id


async def test_the_known_order_check_locks_the_order_for_the_transaction(
    returns: Runtime,
) -> None:
    order_id = new_order_id()
    await seed(returns, order_id)
    async with returns.db.acquire() as handling, handling.transaction():
        assert await repo.lock_order(handling, order_id)
        async with returns.db.acquire() as other:
            with pytest.raises(asyncpg.LockNotAvailableError):
                await other.execute(
                    "SELECT 1 FROM orders WHERE order_id = $1 FOR UPDATE NOWAIT", order_id
                )
    async with returns.db.acquire() as conn, conn.transaction():
        assert await repo.lock_order(conn, new_order_id()) is None, "unknown: nothing to lock"
