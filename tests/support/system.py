"""The whole system for end-to-end tests: the notify sinks and the five services as real
processes (`python -m services.<name>`), on the tests' broker with fresh databases."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from deploy.local.stack import SERVICES, Stack
from shared.contracts.registry import consumed_by
from tests.support.infra import REPO, Infra
from tests.support.kafka import start_group_at_end


async def start_system(
    infra: Infra, extra_env: dict[str, str], databases: dict[str, str] | None = None
) -> tuple[Stack, dict[str, Any]]:
    """Starts the system; `databases` (service -> DSN) puts it on another server than the
    tests' own (a test that kills its database server), else each gets a fresh database."""
    base = REPO / ".local" / "test" / f"system-{uuid.uuid4().hex[:8]}"
    stack = Stack(Path(base))
    if databases is None:
        databases = {name: await infra.create_database(f"e2e_{name}") for name in SERVICES}
    suffix = f"-e2e-{uuid.uuid4().hex[:8]}"
    for name in SERVICES:  # a fresh deployment: start after what earlier tests published
        topics = [t.name for t in consumed_by(name)]
        if topics:
            await start_group_at_end(infra.bootstrap, f"fulfil-{name}{suffix}", topics)
    group_env = {f"{name.upper()}_CONSUMER_GROUP_SUFFIX": suffix for name in SERVICES}
    state = await asyncio.to_thread(
        stack.start_processes,
        infra.bootstrap,
        databases,
        stack.credentials({}),
        {**group_env, **extra_env},
        120.0,
    )
    return stack, state
