"""`fulfil funnel`: the funnel as the running services' /metrics tell it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from rich.console import Console

from deploy.demo.funnel import Funnel
from deploy.demo.shop import Shop
from deploy.demo.view import render, summary_table
from deploy.local.ports import free_port
from tests.integration.ops.business import deliver_paid_order, running_system, urls
from tests.integration.ops.support import env_for, fulfil
from tests.support.infra import Infra
from tests.support.polling import eventually

System = tuple[dict[str, Any], Shop]


@pytest.fixture(scope="module")
async def system(infra: Infra) -> AsyncIterator[System]:
    async for running in running_system(infra):
        yield running


async def test_the_funnel_shows_an_order_placed_paid_shipped_and_delivered(
    system: System, infra: Infra
) -> None:
    state, shop = system
    env = env_for(infra)
    for name, url in urls(state).items():
        env[f"FULFIL_{name.upper()}_URL"] = url
    await deliver_paid_order(shop)

    async def delivered() -> dict[str, Any] | None:
        run = await fulfil(env, "funnel", "--json")
        assert run.code == 0, run.err
        found: dict[str, Any] = run.json()
        return found if found["funnel"]["delivered"] == 1 else None

    found = await eventually(delivered, timeout=60, interval=0.5, what="the delivered order")
    funnel = found["funnel"]
    assert {k: funnel[k] for k in ("placed", "paid", "shipped", "delivered")} == dict.fromkeys(
        ("placed", "paid", "shipped", "delivered"), 1
    )
    assert found["payment_conversion"] == 1.0
    assert found["pay_to_ship"]["n"] == 1 and found["pay_to_ship"]["p95_s"] > 0
    assert found["messages_by_channel"]["sent"]["email"] >= 3  # confirmation, paid, shipped ...
    assert found["events_per_topic"]["orders.v1"] >= 2  # OrderPlaced, OrderPaid
    assert all(service["ok"] for service in found["services"].values())

    env["FULFIL_RETURNS_URL"] = f"http://127.0.0.1:{free_port()}"  # a service down
    partial = await fulfil(env, "funnel", "--json")
    assert partial.code == 0, partial.err
    assert partial.json()["services"]["returns"]["ok"] is False
    assert partial.json()["funnel"]["delivered"] == 1
    readable = await fulfil(env, "funnel")
    assert readable.code == 0, readable.err
    assert "returns: not answering" in readable.out and "delivered" in readable.out


async def test_the_demo_reads_the_same_figures_counted_from_when_it_started(
    system: System,
) -> None:
    state, shop = system
    funnel = Funnel(urls(state))
    await funnel.start()  # what the services counted before (another test's order) is not ours
    await deliver_paid_order(shop)

    async def delivered() -> bool:
        await funnel.refresh()
        return funnel.count("delivered") == 1

    await eventually(delivered, timeout=60, interval=0.5, what="the demo's delivered order")
    summary = funnel.summary()
    assert list(summary) == [
        "funnel",
        "payment_conversion",
        "payment_failures",
        "pay_to_ship",
        "messages_sent",
        "messages_failed",
        "messages_by_template",
        "refund_requests_by_flow",
        "cancel_reasons",
        "events_per_topic",
    ]
    assert [summary["funnel"][s] for s in ("placed", "paid", "shipped", "delivered")] == [1] * 4
    assert summary["payment_conversion"] == 1.0 and summary["pay_to_ship"]["n"] == 1
    out = Console(record=True, width=200)
    out.print(render(funnel, ["driver line"], 3.0))
    out.print(summary_table(summary))
    shown = out.export_text()
    assert "Funnel (orders)" in shown and "payment conversion" in shown and "driver line" in shown
