"""A service reads its per-order topics with its own consumer and the others through faust,
in a `-streams` group: each event is handled once and committed in the group that reads its
topic; a bug escaping the processor in faust's agent fails the process like one in the
service's own consumer, with nothing committed past it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.contracts.events.order import OrderClosed
from shared.contracts.events.returns import RefundRequested
from shared.kafka.groups import service_groups
from shared.kafka.lag import LagMonitor
from shared.messages import RawMessage
from tests.integration.test_consumer import effects, payment_with, record_effect
from tests.support.events import new_order_id, resend, wrap
from tests.support.infra import Infra
from tests.support.polling import eventually
from tests.support.samples import sample_event
from tests.support.services import new_group, running


async def lags(infra: Infra, suffix: str) -> dict[str, int]:
    """Each of payment's groups with its lag (sum over its partitions)."""
    found = {}
    for group, topics in service_groups("payment", suffix).topics_by_group().items():
        monitor = LagMonitor(infra.bootstrap, {group: topics}, client_id="fulfil-groups-test")
        await monitor.start()
        try:
            found[group] = sum((await monitor.measure()).values())
        finally:
            await monitor.stop()
    return found


async def test_each_topic_is_handled_and_committed_in_the_group_that_reads_it(
    infra: Infra, database: str
) -> None:
    order_id = new_order_id()
    closed, refund = wrap(OrderClosed(), order_id), wrap(sample_event(RefundRequested), order_id)
    handlers: Any = {OrderClosed: record_effect, RefundRequested: record_effect}
    suffix = await new_group(infra.bootstrap, "payment")
    async with running(await payment_with(handlers, infra, database), group=suffix) as runtime:
        await resend(infra, closed, refund)

        async def handled() -> list[str] | None:
            got = await effects(runtime, order_id)
            return got if len(got) >= 2 else None

        got = await eventually(handled, what="both events handled", timeout=30)

        async def committed() -> dict[str, int] | None:
            found = await lags(infra, suffix)
            return found if not any(found.values()) else None

        groups = await eventually(committed, what="both groups committed", timeout=30)
    assert sorted(got) == sorted([str(closed.event_id), str(refund.event_id)])
    assert set(groups) == {f"fulfil-payment{suffix}", f"fulfil-payment{suffix}-streams"}


async def test_a_bug_escaping_the_processor_in_faust_fails_the_process(
    infra: Infra, database: str
) -> None:
    order_id = new_order_id()
    refund = wrap(sample_event(RefundRequested), order_id)
    suffix = await new_group(infra.bootstrap, "payment")
    handlers: Any = {RefundRequested: record_effect}
    async with running(await payment_with(handlers, infra, database), group=suffix) as runtime:
        assert runtime.processor is not None
        processor = runtime.processor

        async def buggy(raws: Sequence[RawMessage]) -> list[str]:
            raise RuntimeError("a bug in the processor")

        processor.process_batch = buggy  # type: ignore[method-assign]
        await resend(infra, refund)

        async def failed() -> str | None:
            return runtime.failed_task

        what = await eventually(failed, what="the process failed", timeout=30)
        assert "returns.v1" in what and "a bug in the processor" in what
        assert (await lags(infra, suffix))[f"fulfil-payment{suffix}-streams"] == 1


async def test_a_crash_of_faust_itself_fails_the_process(infra: Infra, database: str) -> None:
    suffix = await new_group(infra.bootstrap, "payment")
    async with running(await payment_with({}, infra, database), group=suffix) as runtime:
        assert runtime._faust is not None
        await runtime._faust.crash(RuntimeError("the consumer thread died"))

        async def failed() -> str | None:
            return runtime.failed_task

        what = await eventually(failed, what="the process failed", timeout=30)
        assert "streams" in what and "the consumer thread died" in what
