"""SIGTERM under load: the stopped instances drain, commit and exit 0, and nothing is redone
or lost.

Two instances of every service; orders are placed and paid all along. Instance 2 of every
service is sent SIGTERM mid-load: its readiness goes false at once, it finishes the batch
in hand, commits, and exits 0 within its grace period; instance 1 takes its partitions
over. The honest observable for "no handler ran twice" is the consumers' own count of
messages their inbox had seen already (`fulfil_events_consumed_total{outcome="duplicate"}`):
instance 1 reads from the offsets instance 2 committed, so a batch handled and not
committed (or an outbox row published and not marked) would show there. Every order ends
done once all the same.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from deploy.demo.shop import Edges, Shop
from deploy.local.stack import SERVICES
from shared.kafka.agents import SESSION_TIMEOUT_SECONDS
from tests.support.churn import ENV, Instances, Load, check_done_once, gone, settled
from tests.support.infra import Infra
from tests.support.system import start_system

pytestmark = [pytest.mark.fault, pytest.mark.slow]

SKU = "FAULT-GRACEFUL-MUG"
GRACE_SECONDS = 15.0
DUPLICATE = re.compile(r'^fulfil_events_consumed_total\{[^}]*outcome="duplicate"[^}]*\} (\S+)$')


@pytest.fixture(scope="module")
async def system(infra: Infra) -> AsyncIterator[dict[str, Any]]:
    env = {**ENV, **{f"{s.upper()}_SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS) for s in SERVICES}}
    stack, state = await start_system(infra, env, replicas=2)
    state["stack"] = stack
    try:
        yield state
    finally:
        await asyncio.to_thread(stack.stop_processes)


async def duplicates(client: httpx.AsyncClient, url: str) -> float:
    text = (await client.get(f"{url}/metrics")).text
    assert "fulfil_events_consumed_total{" in text, "the consumers' count is not exported"
    return sum(float(m.group(1)) for line in text.splitlines() if (m := DUPLICATE.match(line)))


async def test_sigterm_under_load_drains_and_redoes_nothing(system: dict[str, Any]) -> None:
    instances = Instances(system["stack"], system)
    first = instances.named(1)
    async with httpx.AsyncClient(timeout=10) as client:
        shop = Shop(Edges.from_stack(system), client)
        await shop.put_stock(SKU, 100_000)
        load = Load(shop, SKU, interval=0.3)
        runner = asyncio.ensure_future(load.run())
        await asyncio.sleep(8)
        before = {i["name"]: await duplicates(client, i["url"]) for i in first}

        stopping = instances.named(2)
        asked = time.monotonic()
        pids = instances.kill(2, sig=signal.SIGTERM)
        await asyncio.sleep(0.3)
        readiness = [(await _readyz(client, i["url"])) for i in stopping]
        await gone(pids, timeout=GRACE_SECONDS + 10)
        stopped_seconds = time.monotonic() - asked
        codes = await asyncio.gather(*(asyncio.to_thread(_exit_code, p) for p in pids))

        await asyncio.sleep(SESSION_TIMEOUT_SECONDS + 5)  # instance 1 owns every partition
        await load.finish(runner)
        outcomes = [await settled(shop, order_id) for order_id in load.placed]
        after = {i["name"]: await duplicates(client, i["url"]) for i in first}

    print(
        f"graceful stop: {len(pids)} instances stopped in {stopped_seconds:.1f} s,"
        f" exit codes {codes}, duplicates before/after {before} {after}"
    )
    assert all(status in (None, 503) for status in readiness), readiness
    assert [c for c in codes if c not in (0, None)] == [], codes
    for instance in stopping:
        log = system["stack"].log_file(instance["name"]).read_text()
        assert "within_grace=True" in log, instance["name"]
    assert stopped_seconds < GRACE_SECONDS + 5
    assert after == before, ("messages handled twice after the stop", before, after)
    assert len(load.placed) >= 30
    for outcome in outcomes:
        check_done_once(outcome)


async def _readyz(client: httpx.AsyncClient, url: str) -> int | None:
    """The readiness of a stopping instance: 503, or no answer once it stopped listening."""
    try:
        return (await client.get(f"{url}/readyz", timeout=2)).status_code
    except httpx.HTTPError:
        return None


def _exit_code(pid: int) -> int | None:
    """The exit status of a process this test's stack started (None: reaped elsewhere)."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status)
