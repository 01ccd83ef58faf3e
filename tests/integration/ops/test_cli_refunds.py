"""`fulfil refunds`: the queue awaiting operations, approving and refusing, against a running
returns service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from fulfil.refunds import waited
from services.returns.app import build
from services.returns.settings import ReturnsSettings
from shared.runtime import Runtime
from tests.integration.ops.support import env_for, fulfil
from tests.integration.returns.support import ask, fetch, paid_order
from tests.support.events import now
from tests.support.infra import Infra
from tests.support.services import service

PRICE_DROP = {"reason": "price_dropped", "amount": {"amount": 500, "currency": "CNY"}}


@pytest.fixture(scope="module")
async def returns(infra: Infra) -> AsyncIterator[Runtime]:
    database = await infra.create_database("ops_refunds")
    async with service(build, ReturnsSettings, infra, database) as runtime:
        yield runtime


async def _requested(runtime: Runtime) -> dict[str, Any]:
    order_id = await paid_order(runtime, shipped_at=now() - timedelta(days=1))
    response = await ask(runtime, order_id, PRICE_DROP)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_the_queue_is_listed_oldest_first_and_decided_with_the_actor_recorded(
    infra: Infra, returns: Runtime
) -> None:
    env = env_for(infra, returns, actor="ana")
    first, second = await _requested(returns), await _requested(returns)

    listed = await fulfil(env, "refunds", "list", "--json")
    assert listed.code == 0, listed.err
    ids = [r["id"] for r in listed.json()]
    assert ids.index(first["id"]) < ids.index(second["id"])
    shown = next(r for r in listed.json() if r["id"] == first["id"])
    assert shown["order_id"] == first["order_id"] and shown["waited_seconds"] >= 0
    readable = await fulfil(env, "refunds", "list", "--flow", "no_return")
    assert readable.code == 0, readable.err
    assert first["id"] in readable.out and "5.00 CNY" in readable.out
    assert "waited" in readable.out and "SKU-TEA x2" in readable.out

    approved = await fulfil(env, "refunds", "approve", first["id"], "--note", "price matched")
    assert approved.code == 0, approved.err
    assert f"{first['id']} approved" in approved.out
    refused = await fulfil(
        env, "refunds", "refuse", second["id"], "--reason", "no price drop", "--json"
    )
    assert refused.code == 0, refused.err
    assert refused.json()["status"] == "rejected"

    steps = (await fetch(returns, first["id"], first["order_id"]))["steps"]
    assert steps[-1]["action"] == "approved" and steps[-1]["details"]["by"] == "ana"
    steps = (await fetch(returns, second["id"], second["order_id"]))["steps"]
    assert steps[-1]["details"] == {"reason": "no price drop", "by": "ana"}
    after = await fulfil(env, "refunds", "list", "--json")
    assert not {first["id"], second["id"]} & {r["id"] for r in after.json()}


async def test_refusals_are_one_line_errors(infra: Infra, returns: Runtime) -> None:
    env = env_for(infra, returns)
    decided = await _requested(returns)
    assert (await fulfil(env, "refunds", "approve", decided["id"])).code == 0

    cases = [
        (("refunds", "approve", "rr_unknown"), "no refund request rr_unknown"),
        (("refunds", "approve", decided["id"]), "HTTP 409"),
        (("refunds", "refuse", decided["id"], "--reason", "too late"), "HTTP 409"),
        (("refunds", "refuse", decided["id"], "--reason", "  "), "--reason"),
    ]
    for args, said in cases:
        run = await fulfil(env, *args)
        assert run.code == 1, (args, run.err)
        assert said in run.err, (args, run.err)
        assert run.err.strip().count("\n") == 0, run.err
    no_reason = await fulfil(env, "refunds", "refuse", decided["id"])
    assert no_reason.code == 2 and "Missing option '--reason'" in no_reason.err


def test_the_wait_reads_as_a_person_says_it() -> None:
    cases = {0: "0s", 45: "45s", 610: "10m 10s", 3600: "1h", 93784: "1d 2h"}
    assert {seconds: waited(seconds) for seconds in cases} == cases
