"""A PostgreSQL server of a fault test's own, which it may crash without touching the
session's: made under `.local`, killed as a crash would, removed with its files."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from deploy.local.postgres import PostgresCluster
from tests.support.infra import REPO


@contextmanager
def own_postgres(prefix: str) -> Iterator[PostgresCluster]:
    local = REPO / ".local"
    local.mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix=prefix, dir=local))
    base.chmod(0o755)  # as root the server runs as `postgres`, which must enter it
    cluster = PostgresCluster(base)
    try:
        cluster.start(timeout=120)
        yield cluster
    finally:
        cluster.remove()  # its files too, also where they live outside the checkout


async def create_databases(postgres: PostgresCluster, names: list[str]) -> dict[str, str]:
    """Makes `fault_<name>` for each name; returns each name's DSN."""
    admin = await asyncpg.connect(postgres.dsn("postgres"))
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "fault_{name}"')
    finally:
        await admin.close()
    return {name: postgres.dsn(f"fault_{name}") for name in names}


def kill_server(postgres: PostgresCluster) -> None:
    """SIGKILL to the postmaster, as a crash would; returns once it is gone."""
    pid = postgres.status()["pid"]
    assert pid is not None, "the test's PostgreSQL is not running"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while postgres.is_running() and time.monotonic() < deadline:
        time.sleep(0.05)
