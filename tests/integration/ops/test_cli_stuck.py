"""`fulfil stuck`: the order service's stuck orders, the longest waiting first."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from fulfil.cli import cli
from fulfil.stuck import waited
from tests.integration.ops.support import env_for, fulfil
from tests.integration.order.support import order_service, place
from tests.support.infra import Infra
from tests.support.polling import eventually


async def test_an_order_never_asked_for_payment_is_listed_oldest_first(infra: Infra) -> None:
    dsn = await infra.create_database("ops_stuck")
    settings = {"stuck_awaiting_payment_request_seconds": 1.0, "stuck_check_seconds": 3600}
    async with order_service(infra, dsn, **settings) as order:
        env = env_for(infra, order)
        first = (await place(order))["order_id"]
        second = (await place(order))["order_id"]

        async def listed() -> list[dict[str, Any]] | None:
            run = await fulfil(env, "stuck", "--stage", "awaiting_payment_request", "--json")
            assert run.code == 0, run.err
            found: list[dict[str, Any]] = run.json()
            return found if {first, second} <= {s["order_id"] for s in found} else None

        found = await eventually(listed, timeout=30, what="both orders listed as stuck")
        readable = await fulfil(env, "stuck")
    ids = [s["order_id"] for s in found]
    assert ids.index(first) < ids.index(second), "the longest waiting first"
    [shown] = [s for s in found if s["order_id"] == first]
    assert shown["stage"] == "awaiting_payment_request" and shown["threshold_seconds"] == 1.0
    assert shown["waited_seconds"] >= 1.0
    assert readable.code == 0 and first in readable.out and "waited" in readable.out


def test_an_unknown_stage_is_a_one_line_error() -> None:
    result = CliRunner().invoke(cli, ["stuck", "--stage", "lost", "--json"])
    assert result.exit_code == 1
    assert "unknown stage 'lost'" in result.output and result.output.strip().count("\n") == 0


def test_waits_read_as_people_say_them() -> None:
    assert [waited(s) for s in (42, 754, 11_100, 190_000)] == ["42s", "12m 34s", "3h 05m", "2d 04h"]
