"""An idle notify service's database commits per second (pg_stat_database.xact_commit).

Starts notify with its production defaults (only the addresses set) on the tests'
broker and a fresh database, lets it settle, and counts the commits its database sees
while nothing happens. Run it on two checkouts to compare them.

    FULFIL_TEST_KEEP_STACK=1 .venv/bin/python -m tests.bench.micro.notify_idle [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg

from deploy.local.ports import free_port, free_ports
from deploy.local.sinks import Sinks
from services.notify.app import build
from services.notify.settings import NotifySettings
from tests.support.infra import Infra, start_infra
from tests.support.services import new_group, running

SETTLE_SECONDS = 5.0


async def commits(admin_dsn: str, database: str) -> int:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        value = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", database
        )
        return int(value)
    finally:
        await conn.close()


async def measure(infra: Infra, seconds: float) -> None:
    dsn = await infra.create_database("bench_idle")
    database = dsn.rsplit("/", 1)[1]
    smtp_port, http_port = free_ports(2)
    sinks = await Sinks(smtp_port, http_port).start()
    settings = NotifySettings(
        env="test",
        kafka_bootstrap=infra.bootstrap,
        database_url=dsn,
        http_port=free_port(),
        smtp_port=smtp_port,
        sms_gateway_url=f"{sinks.http_url}/sms",
    )
    try:
        group = await new_group(infra.bootstrap, "notify")  # from the topics' end
        async with running(build(settings), group=group):
            await asyncio.sleep(SETTLE_SECONDS)  # a benchmark's window, not a test's wait
            before, start = await commits(infra.admin_dsn, database), time.monotonic()
            await asyncio.sleep(seconds)
            after, elapsed = await commits(infra.admin_dsn, database), time.monotonic() - start
    finally:
        await sinks.stop()
    print(f"idle notify: {after - before} commits in {elapsed:.0f} s"
          f" = {(after - before) / elapsed:.2f} commits/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    seconds = parser.parse_args().seconds
    infra = start_infra()
    try:
        asyncio.run(measure(infra, seconds))
    finally:
        infra.stop()


if __name__ == "__main__":
    main()
