"""PostgreSQL: the connection pool and the migration runner.

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
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x0F0F_1001


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
async def woken_by(dsn: str, channel: str) -> AsyncIterator[asyncio.Event]:
    """An event set whenever a NOTIFY on `channel` commits, for loops that otherwise poll.
    The listening connection is the caller's own (LISTEN is session state, never left on
    a pooled connection). When it cannot connect, the event is never set and the caller
    keeps polling."""
    woken = asyncio.Event()
    conn: asyncpg.Connection | None = None
    try:
        conn = await asyncpg.connect(dsn)
        await conn.add_listener(channel, lambda *_: woken.set())
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        conn = None
    try:
        yield woken
    finally:
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(conn.close())


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
