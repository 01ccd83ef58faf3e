"""The stop sequence: readiness false first, HTTP, then the consumers, all within the grace."""

from __future__ import annotations

import asyncio

from shared.stopping import StopPlan, stop_service


async def test_the_steps_run_in_order_and_readiness_goes_false_first() -> None:
    steps: list[str] = []

    async def serving() -> None:
        await exited.wait()
        steps.append("http stopped")

    async def consumer() -> None:
        steps.append("consumer committed and left")

    async def close() -> None:
        steps.append("closed")

    exited = asyncio.Event()
    http = asyncio.ensure_future(serving())
    background = asyncio.ensure_future(asyncio.sleep(60))
    plan = StopPlan(
        mark_stopping=lambda: steps.append("not ready"),
        http_exit=exited.set,
        http_task=http,
        consumers=[consumer],
        background=[background],
        closers=[close],
    )

    within = await stop_service(plan, grace_seconds=5, drain_seconds=0)

    assert within
    assert steps == ["not ready", "http stopped", "consumer committed and left", "closed"]
    assert background.cancelled()


async def test_past_the_grace_what_is_left_is_cancelled_and_closing_still_runs() -> None:
    closed: list[bool] = []
    stuck = asyncio.ensure_future(asyncio.sleep(60))

    async def consumer() -> None:
        await stuck

    async def close() -> None:
        closed.append(True)

    plan = StopPlan(
        mark_stopping=lambda: None, consumers=[consumer], background=[stuck], closers=[close]
    )

    within = await stop_service(plan, grace_seconds=0.2, drain_seconds=0)

    assert not within
    assert stuck.cancelled()
    assert closed == [True]
