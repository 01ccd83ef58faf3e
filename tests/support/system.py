"""The whole system for end-to-end tests: the notify sinks and the five services as real
processes (`python -m services.<name>`), on the tests' broker with fresh databases."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from deploy.demo.shop import Shop
from deploy.local.kafka_jars import run_tool
from deploy.local.stack import SERVICES, Stack
from shared.kafka.agents import SESSION_TIMEOUT_SECONDS
from tests.support.infra import REPO, Infra
from tests.support.services import skip_backlog


async def start_system(
    infra: Infra,
    extra_env: dict[str, str],
    databases: dict[str, str] | None = None,
    *,
    replicas: int = 1,
) -> tuple[Stack, dict[str, Any]]:
    """Starts the system; `databases` (service -> DSN) puts it on another server than the
    tests' own (a test that kills its database server), else each gets a fresh database.
    `replicas`: instances of each service (deploy/local/processes.py names them)."""
    await alone_on_the_broker(infra.bootstrap)
    base = REPO / ".local" / "test" / f"system-{uuid.uuid4().hex[:8]}"
    stack = Stack(Path(base), replicas=replicas)
    if databases is None:
        databases = {name: await infra.create_database(f"e2e_{name}") for name in SERVICES}
    suffix = f"-e2e-{uuid.uuid4().hex[:8]}"
    for name in SERVICES:  # a fresh deployment: start after what earlier tests published
        await skip_backlog(infra.bootstrap, name, suffix)
    group_env = {f"{name.upper()}_CONSUMER_GROUP_SUFFIX": suffix for name in SERVICES}
    try:
        state = await asyncio.to_thread(
            stack.start_processes,
            infra.bootstrap,
            databases,
            stack.credentials({}),
            {**group_env, **extra_env},
            60.0 + 60.0 * replicas,
        )
    except BaseException:  # what started is stopped: a failed start leaves nothing running
        await asyncio.to_thread(stack.stop_processes)
        raise
    return stack, state


async def alone_on_the_broker(bootstrap: str, timeout: float = 3 * SESSION_TIMEOUT_SECONDS) -> None:
    """No other deployment's consumers still read the topics: a service left running by an
    earlier test (its own groups and database) would handle this system's events too. A
    logistics that never stocked this test's SKU answers every OrderPlaced with
    StockRanShort (0 available), and this system's order service cancels the order its own
    logistics had just reserved. A stopped deployment's static members leave their groups
    once their sessions time out, so this waits that long before it fails."""
    deadline = time.monotonic() + timeout
    while groups := await asyncio.to_thread(consuming_groups, bootstrap):
        assert time.monotonic() < deadline, (
            f"consumers of an earlier test still run on the broker: {groups}"
        )
        await asyncio.sleep(1.0)


def consuming_groups(bootstrap: str) -> dict[str, int]:
    """The services' consumer groups with members now (Kafka's own group tool: aiokafka
    0.14 cannot decode this broker's DescribeGroups answer); {} if the tool cannot say."""
    tool = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
    args = ["--bootstrap-server", bootstrap, "--describe", "--all-groups", "--state"]
    done = run_tool(tool, args, check=False, timeout=60)
    if done.returncode != 0:
        return {}
    rows = (line.split() for line in done.stdout.splitlines())
    return {r[0]: int(r[-1]) for r in rows if r and r[0].startswith("fulfil-") and r[-1] != "0"}


async def place_through_outage(
    shop: Shop, body: dict[str, Any], *, deadline: float | None = None, interval: float = 0.5
) -> str:
    """Places one order, retrying with the same idempotency key while the order service or
    its database is down (no answer, or a 5xx); fails at `deadline` (monotonic) if given."""
    headers = {
        "Authorization": f"Bearer {shop.edges.shop_key}",
        "Idempotency-Key": uuid.uuid4().hex,
    }
    last: Any = None
    while True:
        try:
            response = await shop.client.post(
                f"{shop.edges.order}/v1/orders", headers=headers, json=body
            )
            if response.status_code < 300:
                return str(response.json()["order_id"])
            assert response.status_code >= 500, response.text
            last = response.text
        except httpx.HTTPError as exc:
            last = exc
        assert deadline is None or time.monotonic() < deadline, (
            f"no order placed after a restart: {last!r}"
        )
        await asyncio.sleep(interval)
