"""`fulfil order ID`: what each service shows of an order and its events, gaps marked."""

from __future__ import annotations

from typing import Any

from deploy.local.ports import free_port
from services.order.app import build
from services.order.settings import OrderSettings
from shared.contracts.registry import SERVICES
from tests.integration.ops.support import env_for, fulfil
from tests.integration.order.support import place
from tests.support.events import new_order_id
from tests.support.infra import Infra
from tests.support.polling import eventually
from tests.support.services import service


async def test_an_order_shows_each_service_view_its_events_and_the_missing_next_step(
    infra: Infra,
) -> None:
    dsn = await infra.create_database("ops_order")
    async with service(build, OrderSettings, infra, dsn) as order_service:
        env = env_for(infra, order_service)
        for name in SERVICES:  # the others are not running: a port nobody listens on
            env.setdefault(f"FULFIL_{name.upper()}_URL", f"http://127.0.0.1:{free_port()}")
        order_id = (await place(order_service))["order_id"]

        async def shown() -> dict[str, Any] | None:
            run = await fulfil(env, "order", order_id, "--json")
            assert run.code == 0, run.err
            found: dict[str, Any] = run.json()
            return found if found["events"] else None

        found = await eventually(shown, timeout=30, what="the order's events")
        readable = await fulfil(env, "order", order_id)
    assert found["services"]["order"]["ok"]
    assert found["services"]["order"]["view"]["order_id"] == order_id
    assert not found["services"]["payment"]["ok"], "a service that does not answer says so"
    assert [e["type"] for e in found["events"]] == ["OrderPlaced"]
    assert found["gaps"] == [
        {"after": "OrderPlaced", "index": 0, "expected": ["OrderCancelled", "PaymentRequested"]}
    ]
    assert readable.code == 0 and "GAP: expected" in readable.out
    for output in (readable.out, str(found)):
        assert "li.wei@example.com" not in output
        assert "Century" not in output and "0013" not in output


async def test_an_unknown_order_is_a_one_line_error(infra: Infra) -> None:
    env = env_for(infra)
    for name in SERVICES:
        env[f"FULFIL_{name.upper()}_URL"] = f"http://127.0.0.1:{free_port()}"
    run = await fulfil(env, "order", new_order_id())
    assert run.code != 0
    assert "unknown order" in run.err and run.err.strip().count("\n") == 0
