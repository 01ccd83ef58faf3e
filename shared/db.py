"""PostgreSQL: the connection pool, the migration runner and what counts as an outage.

Migrations are plain SQL files named `NNNN_description.sql`: the shared ones
(outbox, inbox, timers) first, then the service's own. Each runs once, in its
own transaction, under an advisory lock so that two replicas starting together
do not race; `schema_migrations` records what ran and its checksum, and an
edited migration that already ran stops the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x0F0F_1001
# Server answers that mean "not now" rather than "not this": admin, crash and recovery
# shutdowns (57P01-57P03) and too many connections (53300); class 08 is checked by prefix.
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_RELISTEN_SECONDS = 1.0
_CLIENT_SIDE = (
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    ConnectionError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached or went away (it is restarting,
    the connection dropped, every slot is taken), so the same work succeeds once it is back.
    Every background loop retries these and treats anything else as a bug.

    Also true for the client's own connection failures: asyncpg's InterfaceError (a closed
    or broken connection, a pool that lost its connection) and InternalClientError (what a
    connection the server dropped mid-command answers next: "cannot switch to state ...;
    another operation is in progress"), OSError and ConnectionError (refused, reset), and
    TimeoutError (a connect or a command that did not answer). An error raised `from` one of
    these counts too. The HTTP edge answers these with 503 and `Retry-After`."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _transient(current):
            return True
        current = current.__cause__
    return False


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        return state.startswith("08") or state in _UNAVAILABLE_STATES
    return isinstance(exc, _CLIENT_SIDE)


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(component: str, directory: Path) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        version, _, name = path.stem.partition("_")
        migrations.append(Migration(component, int(version), name, path.read_text()))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration versions in {directory}")
    return migrations


def all_migrations(service: str, service_dir: Path) -> list[Migration]:
    return load_migrations("shared", SHARED_MIGRATIONS) + load_migrations(service, service_dir)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


@contextlib.asynccontextmanager
async def woken_by(
    dsn: str, channel: str, wanted: Callable[[str], bool] | None = None
) -> AsyncIterator[asyncio.Event]:
    """An event set whenever a NOTIFY on `channel` commits (one whose payload is `wanted`,
    when given), for loops that otherwise poll. The listening connection is the caller's
    own (LISTEN is session state, never left on a pooled connection). When it is lost (the
    database restarted) it is reopened, and the event is set on each reconnect so that the
    caller looks for what it may have missed; until then the caller keeps polling."""
    woken = asyncio.Event()
    listener = asyncio.ensure_future(_listen(dsn, channel, woken, wanted))
    try:
        yield woken
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener


async def _listen(
    dsn: str, channel: str, woken: asyncio.Event, wanted: Callable[[str], bool] | None
) -> None:
    def notified(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        if wanted is None or wanted(payload):
            woken.set()

    while True:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(dsn)
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _, lost=lost: lost.set())
            await conn.add_listener(channel, notified)
            woken.set()
            if not conn.is_closed():
                await lost.wait()
        except Exception as exc:
            if not is_transient(exc):
                raise
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=2))
        await asyncio.sleep(_RELISTEN_SECONDS)


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """What a released connection needs beyond asyncpg's own rollback of an open
    transaction: nothing, since no code leaves session state (settings, listeners,
    cursors, advisory locks) on a pooled connection. asyncpg's default reset would
    cost one more round trip on every release."""


async def create_pool(dsn: str, *, size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=size,
        init=_init_connection,
        reset=_no_session_state,
        command_timeout=30,
    )
    assert pool is not None
    return pool


async def apply_migrations(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    """Applies what has not run yet; returns the names applied."""
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   component TEXT NOT NULL,
                   version INT NOT NULL,
                   name TEXT NOT NULL,
                   checksum TEXT NOT NULL,
                   applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                   PRIMARY KEY (component, version))"""
        )
        done = {
            (r["component"], r["version"]): r["checksum"]
            for r in await conn.fetch("SELECT component, version, checksum FROM schema_migrations")
        }
        applied = []
        for migration in migrations:
            key = (migration.component, migration.version)
            if key in done:
                if done[key] != migration.checksum:
                    raise RuntimeError(
                        f"migration {migration.component}/{migration.version}_{migration.name} "
                        "was edited after it ran; add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (component, version, name, checksum)"
                    " VALUES ($1, $2, $3, $4)",
                    *key,
                    migration.name,
                    migration.checksum,
                )
            applied.append(f"{migration.component}/{migration.version:04d}_{migration.name}")
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)


async def pending_migrations(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    done: set[Any] = set()
    if exists:
        rows = await conn.fetch("SELECT component, version FROM schema_migrations")
        done = {(r["component"], r["version"]) for r in rows}
    return [
        f"{m.component}/{m.version:04d}_{m.name}"
        for m in migrations
        if (m.component, m.version) not in done
    ]
