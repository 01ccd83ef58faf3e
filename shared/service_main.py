"""A service's entry points: `python -m services.<name>` (`main`) runs it until SIGTERM,
`python -m services.<name> migrate` (`migrate`, a deploy's Job) only applies its migrations.

The running service itself is shared.runtime.Runtime; how it stops, shared.stopping.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import uvloop

from shared import db
from shared.logging import configure_logging, get_logger
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import refusal

log = get_logger(__name__)


async def migrate(definition: ServiceDefinition[Any], *, wait_seconds: float = 300.0) -> list[str]:
    """Applies the service's pending migrations and returns their names, waiting up to
    `wait_seconds` for a database that cannot be reached yet (a Job started beside it)."""
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + wait_seconds, 1.0
    while True:
        try:
            conn = await asyncpg.connect(definition.settings.database_url, timeout=10)
            break
        except Exception as exc:
            if not db.is_transient(exc) or loop.time() + delay > deadline:
                raise
            log.warning("database not reachable yet; retrying", error=repr(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
    try:
        return await db.apply_migrations(conn, definition.migrations())
    finally:
        await conn.close()


def main(name: str, build: Callable[[], ServiceDefinition[Any]]) -> None:
    """The `python -m services.<name>` entry point. A service whose settings refuse to start
    (`shared.settings.refusal`: production without a provider's credentials, a placeholder
    secret, a sandbox) exits non-zero with one line naming what is missing, no traceback."""
    try:
        definition = build()
    except Exception as exc:
        if (why := refusal(exc)) is None:
            raise
        raise SystemExit(f"{name} refuses to start: {why}") from None
    run_service(lambda: definition)


def run_service(build: Callable[[], ServiceDefinition[Any]]) -> None:
    """Runs the service `build` makes until SIGTERM or SIGINT, then stops it gracefully
    (shared.stopping) and the process exits 0; or until a background task dies, then it
    exits with status 1 for its supervisor. With the argument `migrate` (`python -m
    services.<name> migrate`, a deploy's Job) it only applies the migrations."""
    definition = build()
    s = definition.settings
    configure_logging(definition.name, fmt=s.resolved_log_format, level=s.log_level)
    if sys.argv[1:] == ["migrate"]:
        log.info("migrations applied", migrations=uvloop.run(migrate(definition)))
        return

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        runtime = Runtime(definition)
        try:
            await runtime.start()
            await _first(stop.wait(), runtime.failed.wait())
            log.info("stopping", failed_task=runtime.failed_task)
        finally:
            await runtime.stop()
        if runtime.failed_task is not None:
            raise SystemExit(1)

    # uvloop runs the whole process (Kafka clients, asyncpg, HTTP), not only uvicorn
    uvloop.run(main())


async def _first(*waits: Awaitable[Any]) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
