"""Two events of one order read from two topics at once (its payment and its shipment, say)
are handled one after the other: the check that returns knows the order, made by every
handler of an event about it (`repository.lock_order`, or `update_known_order` that records
the event's facts at once), locks the order's row for the handling transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial
from typing import Any

import asyncpg
import pytest

from services.returns import repository as repo
from shared.runtime import Runtime
from tests.integration.returns.support import seed
from tests.support.events import new_order_id

Load = Callable[[asyncpg.Connection, str], Awaitable[Any]]


LOADS: dict[str, Load] = {
    "known order check": repo.lock_order,
    "facts recorded": partial(repo.update_known_order, promised_ship_date=date(2030, 1, 1)),
}


@pytest.mark.parametrize("load", LOADS.values(), ids=LOADS.keys())
async def test_the_known_order_check_locks_the_order_for_the_transaction(
    returns: Runtime, load: Load
) -> None:
    order_id = new_order_id()
    await seed(returns, order_id)
    async with returns.db.acquire() as handling, handling.transaction():
        assert await load(handling, order_id)
        async with returns.db.acquire() as other:
            with pytest.raises(asyncpg.LockNotAvailableError):
                await other.execute(
                    "SELECT 1 FROM orders WHERE order_id = $1 FOR UPDATE NOWAIT", order_id
                )
    async with returns.db.acquire() as conn, conn.transaction():
        assert await load(conn, new_order_id()) is None, "unknown: nothing to lock"
