"""Where the tests' Kafka and PostgreSQL come from, in this order of preference:

1. an external broker and database named by `FULFIL_TEST_KAFKA_BOOTSTRAP` and
   `FULFIL_TEST_DATABASE_URL` (an admin DSN that may create databases);
2. testcontainers, when a Docker engine answers;
3. the local stack (`deploy.local`), started under `.local/test/` on free ports
   and stopped at the end (kept running with `FULFIL_TEST_KEEP_STACK=1`).

When the start fails half-way, whatever this run started is stopped again, so a
failed run leaves no broker or database behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from shared.kafka.admin import ensure_topics

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Infra:
    bootstrap: str
    admin_dsn: str
    kind: str
    _stop: list[Callable[[], Any]] = field(default_factory=list)
    # What this run started, stopped if the set-up fails after it was made.
    _undo: list[Callable[[], Any]] = field(default_factory=list)

    def dsn(self, database: str) -> str:
        parts = urlsplit(self.admin_dsn)
        return urlunsplit(parts._replace(path=f"/{database}"))

    async def create_database(self, prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.dsn(name)

    def stop(self) -> None:
        for stop in reversed(self._stop):
            stop()

    def abort(self) -> None:
        for undo in reversed(self._undo):
            undo()


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def start_infra() -> Infra:
    external_kafka = os.environ.get("FULFIL_TEST_KAFKA_BOOTSTRAP")
    external_db = os.environ.get("FULFIL_TEST_DATABASE_URL")
    if external_kafka and external_db:
        infra = Infra(external_kafka, external_db, "external")
    elif docker_available() and not os.environ.get("FULFIL_TEST_NO_DOCKER"):
        infra = _containers()
    else:
        infra = _local()
    try:
        asyncio.run(ensure_topics(infra.bootstrap))
    except BaseException:
        infra.abort()
        raise
    return infra


def _local(base: Path = REPO / ".local" / "test") -> Infra:
    from deploy.local.kafka import KafkaCluster
    from deploy.local.postgres import PostgresCluster, ensure_installed

    kafka = KafkaCluster(base / "kafka", nodes=1)
    postgres = PostgresCluster(base / "postgres")
    with contextlib.ExitStack() as undo:  # stops what started if a later step fails
        kafka_was_running = kafka.is_running()
        bootstrap = kafka.start()
        if not kafka_was_running:
            undo.callback(kafka.stop)
        ensure_installed()
        postgres_was_running = postgres.is_running()
        postgres.start()
        if not postgres_was_running:
            undo.callback(postgres.stop)
        started = undo.pop_all()
    infra = Infra(bootstrap, postgres.dsn("postgres"), "local", _undo=[started.close])
    if not os.environ.get("FULFIL_TEST_KEEP_STACK"):
        # CI's clone is thrown away after the run: so are PostgreSQL's files, which may
        # live outside it; a developer's checkout keeps them for its next run
        infra._stop += [postgres.remove if os.environ.get("CI") else postgres.stop, kafka.stop]
    return infra


def _containers() -> Infra:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs
    from testcontainers.postgres import PostgresContainer

    kafka = (
        DockerContainer("apache/kafka:4.1.1")
        .with_bind_ports(9092, 19092)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://127.0.0.1:19092")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env(
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
        )
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    )
    postgres = PostgresContainer(
        "postgres:15", username="fulfil", password="fulfil", dbname="postgres"
    )
    with contextlib.ExitStack() as undo:  # stops what started if a later step fails
        kafka.start()
        undo.callback(kafka.stop)
        wait_for_logs(kafka, "Kafka Server started", timeout=120)
        postgres.start()
        undo.callback(postgres.stop)
        dsn = (
            f"postgresql://fulfil:fulfil@{postgres.get_container_host_ip()}:"
            f"{postgres.get_exposed_port(5432)}/postgres"
        )
        undo.pop_all()
    stops = [postgres.stop, kafka.stop]
    return Infra("127.0.0.1:19092", dsn, "containers", _stop=stops, _undo=stops)
