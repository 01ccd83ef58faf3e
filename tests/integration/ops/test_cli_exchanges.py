"""`fulfil exchanges`: the exchanges whose units are still to come back, one exchange in
full, and recording the units received, against a running returns service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.returns.app import build
from services.returns.settings import ReturnsSettings
from shared.runtime import Runtime
from tests.integration.ops.support import env_for, fulfil
from tests.integration.returns.exchange_support import (
    TEA_1,
    ask_exchange,
    delivered_order,
    reserved,
    until_exchange,
)
from tests.support.events import send
from tests.support.infra import Infra
from tests.support.services import service


@pytest.fixture(scope="module")
async def returns(infra: Infra) -> AsyncIterator[Runtime]:
    database = await infra.create_database("ops_exchanges")
    async with service(build, ReturnsSettings, infra, database) as runtime:
        yield runtime


async def _accepted(runtime: Runtime, price: int) -> tuple[str, str]:
    order_id = await delivered_order(runtime)
    response = await ask_exchange(runtime, order_id, {**TEA_1, "reason": "changed_mind"})
    assert response.status_code == 201, response.text
    exchange_id = str(response.json()["id"])
    await send(runtime, reserved(exchange_id, price), order_id)
    await until_exchange(runtime, exchange_id, order_id, "accepted")
    return order_id, exchange_id


async def test_operations_list_the_exchanges_due_back_and_record_one_received(
    infra: Infra, returns: Runtime
) -> None:
    env = env_for(infra, returns, actor="ana")
    (first_order, first), (_, second) = (
        await _accepted(returns, 5_000),
        await _accepted(returns, 4_200),
    )

    listed = await fulfil(env, "exchanges", "list", "--json")
    assert listed.code == 0, listed.err
    ids = [x["id"] for x in listed.json()]
    assert ids.index(first) < ids.index(second), "oldest first"
    readable = await fulfil(env, "exchanges", "list")
    assert readable.code == 0, readable.err
    assert first in readable.out and "SKU-TEA x1 -> SKU-TEA-GREEN" in readable.out

    shown = await fulfil(env, "exchanges", "show", second)
    assert shown.code == 0, shown.err
    assert f"{second} accepted" in shown.out and "8.00 CNY to refund" in shown.out
    assert "requested (customer)" in shown.out

    received = await fulfil(env, "exchanges", "receive", first, "--json")
    assert received.code == 0, received.err
    assert received.json()["status"] == "released"
    done = await until_exchange(returns, first, first_order, "released")
    received_step = next(s for s in done["steps"] if s["action"] == "return_received")
    assert received_step["details"]["by"] == "ana", "the operator is recorded"
    after = await fulfil(env, "exchanges", "list", "--json")
    assert first not in [x["id"] for x in after.json()], "no longer due back"
    assert second in [x["id"] for x in after.json()]

    again = await fulfil(env, "exchanges", "receive", first)
    assert again.code != 0 and "HTTP 409" in again.err
    bad = await fulfil(env, "exchanges", "show", "a/b")
    assert bad.code != 0 and "not an exchange id" in bad.err
