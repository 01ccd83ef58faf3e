"""A service at run time: pool, migrations, consumers, relay, timers and HTTP in one process.

The service's topics are read in two consumer groups (shared.kafka.groups): those every
order's happy path carries by its own aiokafka consumer (`ServiceConsumer`), the others by
a faust app in the `-streams` group. Both feed one MessageProcessor; a bug escaping it in
either fails the process, and one lag monitor watches both groups.

`ServiceDefinition` is what a service's builder returns; tests call the same
builder and swap only the edges (deps). Nothing connects at import time. The process's
entry points are in shared.service_main, the stop sequence in shared.stopping.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import asyncpg
import uvicorn
from fastapi import APIRouter, FastAPI

from shared import db, dead_letters, held, inbox, metrics, ops_status, outbox, tracing
from shared.consumer import MessageProcessor
from shared.gauges import GaugeRefresher, Refresh
from shared.http import create_http_app
from shared.kafka.agents import (
    ServiceConsumer,
    attach_agents,
    build_faust_app,
    faust_app_crashed,
    stop_faust_app,
)
from shared.kafka.groups import service_groups
from shared.kafka.lag import LagMonitor
from shared.kafka.ready import wait_for_broker
from shared.kafka.security import KafkaSecurity, aiokafka_kwargs
from shared.logging import get_logger
from shared.messages import Handlers
from shared.settings import ServiceSettings
from shared.stopping import StopPlan, stop_service
from shared.timer_poller import TimerHandler, TimerPoller
from shared.unit import Unit, Units

log = get_logger(__name__)
D = TypeVar("D")
Background = Callable[["Runtime[Any]"], Awaitable[None]]


@dataclass
class ServiceDefinition(Generic[D]):
    """`deps` is the service's own `Deps` (its settings and edges); every unit the service
    runs carries it, typed."""

    name: str
    settings: ServiceSettings
    migrations_dir: Path
    deps: D
    handlers: Handlers = field(default_factory=dict)
    timers: Mapping[str, TimerHandler] = field(default_factory=dict)
    routers: Sequence[APIRouter] = ()
    background: Sequence[Background] = ()
    consumer_group_suffix: str = ""
    gauges: Sequence[Refresh] = ()
    """The service's own gauges, refreshed with the shared ones (shared.gauges)."""

    def migrations(self) -> list[db.Migration]:
        return db.all_migrations(self.name, self.migrations_dir)


S = TypeVar("S", bound=ServiceSettings)
Edges = tuple[Sequence[APIRouter], Sequence[Background]]


def _no_edges(settings: Any, deps: Any) -> Edges:
    return (), ()


@dataclass(frozen=True)
class Wiring(Generic[S, D]):
    """What a service is made of, declared once in its `app.py`. `build` makes its definition,
    with settings and deps from their defaults when not given: tests call the same builder and
    swap only the edges. `extras` adds the routers and background tasks that depend on them."""

    name: str
    migrations_dir: Path
    settings: Callable[[], S]
    make_deps: Callable[[S], D]
    handlers: Handlers
    timers: Mapping[str, TimerHandler]
    routers: Sequence[APIRouter] = ()
    background: Sequence[Background] = ()
    extras: Callable[[S, D], Edges] = _no_edges
    gauges: Sequence[Refresh] = ()

    def build(self, settings: S | None = None, deps: D | None = None) -> ServiceDefinition[D]:
        settings = settings or self.settings()
        deps = deps or self.make_deps(settings)
        routers, background = self.extras(settings, deps)
        return ServiceDefinition(
            self.name,
            settings,
            self.migrations_dir,
            deps,
            handlers=self.handlers,
            timers=self.timers,
            routers=[*self.routers, *routers],
            background=[*self.background, *background],
            gauges=self.gauges,
        )


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the runtime owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield

    def install_signal_handlers(self) -> None:
        return None


class Runtime(Generic[D]):
    def __init__(self, definition: ServiceDefinition[D]) -> None:
        self.definition = definition
        self.settings = definition.settings
        self.name = definition.name
        self.deps: D = definition.deps
        self.units: Units[D] = Units(definition.name, definition.deps)
        self.pool: asyncpg.Pool | None = None
        self.processor: MessageProcessor | None = None
        self.lag: LagMonitor | None = None
        self.http: FastAPI | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._faust: Any = None
        self._producer: Any = None
        self._server: _Server | None = None
        self._http_task: asyncio.Task[Any] | None = None
        self._consumer_task: asyncio.Task[Any] | None = None
        self._stopping = False
        self.failed_task: str | None = None
        """The background task that died (`name: error`), if one did: readiness then fails
        and the process exits non-zero, so that a supervisor starts the process again."""
        self.failed = asyncio.Event()
        self.migrations = definition.migrations()

    @property
    def db(self) -> asyncpg.Pool:
        assert self.pool is not None, "runtime not started"
        return self.pool

    @contextlib.asynccontextmanager
    async def unit(
        self, *, correlation_id: str | None = None, causation_id: str | None = None
    ) -> AsyncIterator[Unit[D]]:
        async with self.units.begin(
            self.db, correlation_id=correlation_id, causation_id=causation_id
        ) as unit:
            yield unit

    async def start(self, *, http: bool = True) -> None:
        s = self.settings
        tracing.configure(self.name, s)  # off unless the settings say where spans go
        self.pool = await db.create_pool(s.database_url, size=s.database_pool_size)
        async with self.pool.acquire() as conn:
            applied = await db.apply_migrations(conn, self.migrations)
        if applied:
            log.info("migrations applied", migrations=applied)
        # a broker not serving yet is waited for, not a reason to die (shared.kafka.ready)
        await wait_for_broker(s.kafka_bootstrap, security=KafkaSecurity.from_settings(s))
        self._producer = outbox.make_producer(
            s.kafka_bootstrap,
            f"{self.name}-outbox",
            auth=aiokafka_kwargs(KafkaSecurity.from_settings(s)),
        )
        await self._producer.start()
        relay = outbox.OutboxRelay(
            self.pool,
            s.database_url,
            self._producer,
            batch_size=s.outbox_batch_size,
            poll_seconds=s.outbox_poll_seconds,
            retry_seconds=s.outbox_retry_seconds,
            service=self.name,
        )
        poller = TimerPoller(
            self.pool,
            self.definition.timers,
            self.units,
            dsn=s.database_url,
            poll_seconds=s.timer_poll_seconds,
            max_attempts=s.timer_max_attempts,
        )
        self.relay, self.poller = relay, poller
        self.gauges = GaugeRefresher(
            self.pool, self.definition.gauges, every_seconds=s.gauges_seconds
        )
        self._spawn(relay.run(), "outbox-relay")
        self._spawn(poller.run(), "timers")
        self._spawn(self._housekeeping(), "housekeeping")
        self._spawn(self.gauges.run(), "gauges")
        for background in self.definition.background:
            self._spawn(background(self), getattr(background, "__name__", "background"))
        if http:  # answers before the consumer has joined its group
            await self._start_http()
        await self._start_consumer()
        log.info("service started", http_port=s.http_port if http else None)

    async def _start_consumer(self) -> None:
        suffix = self.definition.consumer_group_suffix or self.settings.consumer_group_suffix
        groups = service_groups(self.name, suffix)
        if not groups.hot and not groups.cold:
            return
        s = self.settings
        processor = MessageProcessor(
            self.name,
            self.db,
            self.definition.handlers,
            self.units,
            max_attempts=s.consumer_max_attempts,
            backoff_seconds=s.consumer_backoff_seconds,
            backoff_max_seconds=s.consumer_backoff_max_seconds,
        )
        self.processor = processor
        security = KafkaSecurity.from_settings(s)
        lag = LagMonitor(
            s.kafka_bootstrap,
            groups.topics_by_group(),
            client_id=f"fulfil-{self.name}-lag",
            security=security,
        )
        self.lag = lag
        self._spawn(lag.run(), "consumer-lag")
        if groups.cold:
            self._faust = build_faust_app(
                self.name,
                s.kafka_bootstrap,
                group_suffix=groups.streams_suffix,
                instance_id=s.consumer_instance_id,
                security=security,
            )
            attach_agents(self._faust, groups.cold, processor, on_failure=self._fail)
            await self._faust.start()
            self._spawn(faust_app_crashed(self._faust), "streams")  # a crash fails the process
        if groups.hot:
            consumer = ServiceConsumer(
                self.name,
                s.kafka_bootstrap,
                groups.hot,
                processor,
                group_suffix=suffix,
                instance_id=s.consumer_instance_id,
                security=security,
            )
            await consumer.start()
            # a bug escaping the processor ends `run`: the task's end fails the process
            self._consumer_task = self._spawn(consumer.run(), "consumer")

    async def _start_http(self) -> None:
        self.http = create_http_app(
            self.name,
            readiness=self.readiness,
            routers=[*self.definition.routers, dead_letters.router, ops_status.router],
        )
        self.http.state.runtime = self
        config = uvicorn.Config(
            self.http,
            host=self.settings.http_host,
            port=self.settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
            # the C parser and event loop: h11 and the pure-Python loop cost several times
            # the CPU per request
            loop="uvloop",
            http="httptools",
            # longer than clients and load balancers keep idle connections (httpx: 5 s,
            # most balancers: 60 s), so a client never reuses one the service just closed
            timeout_keep_alive=75,
        )
        self._server = _Server(config)
        self._http_task = self._spawn(self._server.serve(), "http")
        while not self._server.started:
            task = self._tasks[-1]
            if task.done():
                task.result()
                raise RuntimeError("HTTP server stopped while starting")
            await asyncio.sleep(0.02)

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(f"{self.name}:{name}")
        task.add_done_callback(self._task_done)
        self._tasks.append(task)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        assert error is not None
        self._fail(task.get_name(), error)

    def _fail(self, what: str, error: BaseException) -> None:
        log.error("background task died", task=what, error=repr(error))
        if not self._stopping and self.failed_task is None:
            self.failed_task = f"{what}: {error!r}"
            self.failed.set()

    async def _housekeeping(self) -> None:
        """Purges what outlived its retention and counts held events, every
        `housekeeping_seconds` (the outbox backlog gauge is the relay's: it reads the rows)."""
        s = self.settings
        while True:
            try:
                async with self.db.acquire() as conn, conn.transaction():  # one commit
                    await held.purge(conn, s.held_retention_days)
                    metrics.HELD_EVENTS.set(await held.count(conn))
                    await outbox.purge(conn, s.outbox_retention_hours)
                    await inbox.purge(conn, s.inbox_retention_days)
            except Exception as exc:
                if not db.is_transient(exc):
                    raise
                log.warning("housekeeping failed; retrying", error=repr(exc))
            await asyncio.sleep(s.housekeeping_seconds)

    async def readiness(self) -> dict[str, Any]:
        if self._stopping:  # first of the stop sequence: no new requests
            return {"stopping": {"ok": False, "error": "stopping"}}
        checks: dict[str, Any] = {"background": {"ok": self.failed_task is None}}
        if self.failed_task is not None:
            checks["background"]["failed"] = self.failed_task
        try:
            async with asyncio.timeout(3), self.db.acquire() as conn:
                pending = await db.pending_migrations(conn, self.migrations)
            checks["database"] = {"ok": True}
            checks["migrations"] = {"ok": not pending, "pending": pending}
        except Exception as exc:
            state = "unreachable" if db.is_transient(exc) else "failing"
            checks["database"] = {"ok": False, "error": f"{state}: {exc!r}"}
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), 3)
            checks["kafka"] = {"ok": True}
        except Exception as exc:
            checks["kafka"] = {"ok": False, "error": repr(exc)}
        return checks

    async def stop(self) -> None:
        """The stop sequence of shared.stopping, within `shutdown_grace_seconds`."""
        tasks = [t for t in self._tasks if t not in (self._http_task, self._consumer_task)]
        consumers: list[Callable[[], Awaitable[None]]] = [self._stop_relay]
        if self._consumer_task is not None:
            consumers.append(functools.partial(_cancelled, self._consumer_task))
        if self._faust is not None:
            failed = self.failed_task is not None
            consumers.append(functools.partial(stop_faust_app, self._faust, failed=failed))
        closers: list[Callable[[], Awaitable[None]]] = []
        if self._producer is not None:
            closers.append(self._producer.stop)
        if self.pool is not None:
            closers.append(self.pool.close)
        # what is buffered is exported: up to OTEL_EXPORTER_OTLP_TIMEOUT while no collector answers
        closers.append(functools.partial(asyncio.to_thread, tracing.shutdown, self.name))
        server = self._server
        plan = StopPlan(
            mark_stopping=self._mark_stopping,
            http_exit=None if server is None else functools.partial(_exit_server, server),
            http_task=self._http_task,
            consumers=consumers,
            background=[*tasks, *([self._consumer_task] if self._consumer_task else [])],
            closers=closers,
        )
        await stop_service(
            plan,
            grace_seconds=self.settings.shutdown_grace_seconds,
            drain_seconds=self.settings.shutdown_drain_seconds,
        )
        log.info("service stopped")

    def _mark_stopping(self) -> None:
        self._stopping = True

    async def _stop_relay(self) -> None:
        """The relay ends its pass in hand: what it published is marked, so not sent twice."""
        relay = getattr(self, "relay", None)
        task = next((t for t in self._tasks if t.get_name().endswith(":outbox-relay")), None)
        if relay is not None and task is not None:
            relay.stop()
            await asyncio.gather(task, return_exceptions=True)


def _exit_server(server: uvicorn.Server) -> None:
    server.should_exit = True


async def _cancelled(task: asyncio.Task[Any]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
