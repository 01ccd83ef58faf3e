"""What an idle service costs: database commits per second and CPU per second.

Starts each named service in this process (the production builder and default poll
settings) on a fresh database of the tests' stack, lets it settle, then counts for a
while (and through its stop, when its backends report the rest) the commits its
database records (pg_stat_database.xact_commit, read from another database so that the
reading does not count) and the CPU this process uses.

    FULFIL_TEST_KEEP_STACK=1 .venv/bin/python -m tests.bench.micro.outbox_idle [service ...]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import time
from typing import Any

import asyncpg

from deploy.local.ports import free_port
from shared.logging import configure_logging
from tests.support.infra import Infra, start_infra
from tests.support.services import running

SERVICES = {
    "order": "OrderSettings",
    "payment": "PaymentSettings",
    "logistics": "LogisticsSettings",
    "returns": "ReturnsSettings",
    "notify": "NotifySettings",
}
_COMMITS = "SELECT xact_commit FROM pg_stat_database WHERE datname = $1"
_BACKENDS = "SELECT count(*) FROM pg_stat_activity WHERE datname = $1"


async def commits(admin: asyncpg.Connection, database: str) -> int:
    # a backend reports its counts at most once a second, and when it goes idle
    await admin.execute("SELECT pg_stat_clear_snapshot()")
    return int(await admin.fetchval(_COMMITS, database))


async def idle_cost(infra: Infra, name: str, settle: float, seconds: float) -> dict[str, Any]:
    dsn = await infra.create_database(prefix=f"idle_{name}")
    database = dsn.rsplit("/", 1)[-1]
    app = importlib.import_module(f"services.{name}.app")
    settings_cls = getattr(importlib.import_module(f"services.{name}.settings"), SERVICES[name])
    settings = settings_cls(
        env="test", kafka_bootstrap=infra.bootstrap, database_url=dsn, http_port=free_port()
    )
    admin = await asyncpg.connect(infra.admin_dsn)
    try:
        async with running(app.build(settings), http=True):
            await asyncio.sleep(settle)
            before, cpu0, t0 = await commits(admin, database), time.process_time(), time.monotonic()
            await asyncio.sleep(seconds)
            cpu1, t1 = time.process_time(), time.monotonic()
        # a backend reports what it has not yet reported when it exits: count after that
        while await admin.fetchval(_BACKENDS, database):
            await asyncio.sleep(0.1)
        after = await commits(admin, database)
    finally:
        await admin.close()
    elapsed = t1 - t0
    return {
        "service": name,
        "commits_per_s": round((after - before) / elapsed, 2),
        "cpu_ms_per_s": round((cpu1 - cpu0) * 1000 / elapsed, 2),
    }


async def main(infra: Infra, names: list[str], settle: float, seconds: float) -> None:
    try:
        total_commits = total_cpu = 0.0
        for name in names:
            figures = await idle_cost(infra, name, settle, seconds)
            total_commits += figures["commits_per_s"]
            total_cpu += figures["cpu_ms_per_s"]
            print(
                f"{name:10s} {figures['commits_per_s']:6.2f} commits/s"
                f"  {figures['cpu_ms_per_s']:7.2f} ms CPU/s",
                flush=True,
            )
        print(f"{'all':10s} {total_commits:6.2f} commits/s  {total_cpu:7.2f} ms CPU/s")
    finally:
        infra.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("services", nargs="*", default=list(SERVICES))
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    configure_logging("bench", fmt="console", level="WARNING")
    asyncio.run(main(start_infra(), args.services, args.settle, args.seconds))
