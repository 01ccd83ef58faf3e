"""`python -m services.<name> migrate`, what a cluster's migrations Job runs before a
rollout (deploy/helm/fulfil/templates/migrations.yaml): it applies the service's migrations
to its database and exits, without Kafka; run again, it applies nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
import pytest

from deploy.local.ports import free_port
from services.order.app import WIRING as ORDER
from services.order.settings import OrderSettings
from shared import db
from shared.contracts.registry import SERVICES
from shared.service_main import migrate
from shared.settings import service_env
from tests.support.infra import REPO

UNREACHABLE_KAFKA = f"127.0.0.1:{free_port()}"


def run_migrate(service: str, database: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.update(service_env(service, env="test", database_url=database))
    env.update(service_env(service, kafka_bootstrap=UNREACHABLE_KAFKA))
    return subprocess.run(
        [sys.executable, "-m", f"services.{service}", "migrate"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def applied(database: str) -> set[tuple[str, int]]:
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch("SELECT component, version FROM schema_migrations")
    finally:
        await conn.close()
    return {(r["component"], r["version"]) for r in rows}


@pytest.mark.parametrize("service", SERVICES)
async def test_migrate_applies_every_migration_once_and_exits(service: str, database: str) -> None:
    first = await asyncio.to_thread(run_migrate, service, database)
    assert first.returncode == 0, first.stdout + first.stderr
    app = __import__(f"services.{service}.app", fromlist=["WIRING"]).WIRING
    expected = {(m.component, m.version) for m in db.all_migrations(service, app.migrations_dir)}
    assert await applied(database) == expected

    again = await asyncio.to_thread(run_migrate, service, database)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "migrations=[]" in again.stdout + again.stderr
    assert await applied(database) == expected


async def test_migrate_gives_up_on_a_database_still_unreachable_after_its_wait() -> None:
    refused = f"postgresql://fulfil@127.0.0.1:{free_port()}/order"
    definition = ORDER.build(OrderSettings(env="test", database_url=refused))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(OSError):
        await migrate(definition, wait_seconds=2.5)
    assert 1.0 <= loop.time() - started < 10
