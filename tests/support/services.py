"""Running a service in the test process with the same builder production uses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import TopicPartition

from deploy.local.ports import free_port
from shared.kafka.groups import service_groups
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import ServiceSettings
from tests.support.infra import Infra
from tests.support.kafka import group_at, start_group_at_end

_STARTED_GROUPS: set[tuple[str, str]] = set()
Builder = Callable[..., ServiceDefinition]


def settings_for(
    settings_cls: type[ServiceSettings], bootstrap: str, dsn: str, **overrides: Any
) -> Any:
    values: dict[str, Any] = {
        "env": "test",
        "kafka_bootstrap": bootstrap,
        "database_url": dsn,
        "http_port": free_port(),
        "outbox_poll_seconds": 0.2,
        "timer_poll_seconds": 0.2,
        "consumer_backoff_seconds": 0.05,
        "consumer_backoff_max_seconds": 0.5,
    }
    values.update(overrides)
    return settings_cls(**values)


@asynccontextmanager
async def running(
    definition: ServiceDefinition, *, http: bool = True, group: str | None = None
) -> AsyncIterator[Runtime]:
    """Starts the service and stops it after.

    Every test instance of a service shares its consumer groups (suffix `-test`), so
    each starts where the previous one stopped; the first one in a session starts at the
    topics' end instead of replaying what other suites published. A test that names
    its own `group` (suffix) positions it itself.
    """
    definition.consumer_group_suffix = group or "-test"
    suffix = definition.consumer_group_suffix
    if group is None and (definition.name, suffix) not in _STARTED_GROUPS:
        # First use in this session: skip what earlier suites (or runs) left on the topics.
        await skip_backlog(definition.settings.kafka_bootstrap, definition.name, suffix)
    _STARTED_GROUPS.add((definition.name, suffix))
    runtime = Runtime(definition)
    await runtime.start(http=http)
    try:
        yield runtime
    finally:
        await runtime.stop()


@asynccontextmanager
async def service(
    build: Builder,
    settings_cls: type[ServiceSettings],
    infra: Infra,
    database: str,
    *,
    http: bool = True,
    group: str | None = None,
    **overrides: Any,
) -> AsyncIterator[Runtime]:
    """The service built as production builds it, on the tests' broker and `database`,
    with the test settings and `overrides`, running until the block ends."""
    settings = settings_for(settings_cls, infra.bootstrap, database, **overrides)
    async with running(build(settings), http=http, group=group) as runtime:
        yield runtime


async def skip_backlog(bootstrap: str, name: str, suffix: str = "-test") -> None:
    """Puts the service's consumer groups (`fulfil-<name><suffix>` and its `-streams`
    group) at the end of what each consumes: the service sees only what is published from
    now on, not what other suites left."""
    for group, topics in service_groups(name, suffix).topics_by_group().items():
        await start_group_at_end(bootstrap, group, topics)


async def new_group(
    bootstrap: str, name: str, offsets: dict[TopicPartition, int] | None = None
) -> str:
    """New consumer groups of the service, starting at `offsets` (else at the end of what
    they consume; each group gets the offsets of its own topics); their suffix, for
    `running(..., group=...)`."""
    suffix = f"-t{uuid.uuid4().hex[:10]}"
    if offsets is None:
        await skip_backlog(bootstrap, name, suffix)
        return suffix
    for group, topics in service_groups(name, suffix).topics_by_group().items():
        await group_at(bootstrap, group, {tp: o for tp, o in offsets.items() if tp.topic in topics})
    return suffix


def base_url(runtime: Runtime) -> str:
    return f"http://127.0.0.1:{runtime.settings.http_port}"
