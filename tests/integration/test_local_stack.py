"""The local stack where a new user puts it: private directories, failed starts."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import asyncpg
import pytest

from deploy.local.kafka import KafkaCluster
from deploy.local.ports import LOOPBACK
from deploy.local.postgres import PostgresCluster
from tests.support.infra import _local


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True)
    path.chmod(0o700)  # whatever the umask
    return path


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if text.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone meanwhile
            continue
    return found


async def test_postgres_starts_in_a_checkout_the_server_user_cannot_enter(
    tmp_path: Path,
) -> None:
    first = PostgresCluster(_private_dir(tmp_path / "home-a") / "checkout" / ".local" / "pg")
    second = PostgresCluster(_private_dir(tmp_path / "home-b") / "checkout" / ".local" / "pg")
    try:
        for cluster in (first, second):
            conn = await asyncpg.connect(cluster.start())
            try:
                assert await conn.fetchval("SELECT 1") == 1
            finally:
                await conn.close()
        if os.geteuid() == 0:  # the server runs as `postgres`, which cannot enter home-a
            assert not first.data_dir.is_relative_to(tmp_path)
        assert first.data_dir != second.data_dir  # two checkouts never share a server

        # A fresh handle (as `make status` and `make down` make) finds the moved server.
        again = PostgresCluster(first.base_dir)
        assert again.data_dir == first.data_dir
        assert again.status()["alive"]
        again.stop()
        assert not again.is_running()
        assert PostgresCluster(first.base_dir).start() == first.dsn("postgres")  # same place
    finally:
        for cluster in (first, second):
            outside = cluster.server_dir
            cluster.remove()
            assert not outside.exists()


def test_a_failed_test_stack_start_leaves_nothing_running(tmp_path: Path) -> None:
    base = tmp_path / "stack"
    (base / "postgres").mkdir(parents=True)
    try:
        with socket.socket() as squatter:  # PostgreSQL's kept port, taken by someone else
            squatter.bind((LOOPBACK, 0))
            squatter.listen()
            port = squatter.getsockname()[1]
            (base / "postgres" / "cluster.json").write_text(json.dumps({"port": port}))
            with pytest.raises(RuntimeError, match="taken by another process"):
                _local(base)
        statuses = KafkaCluster(base / "kafka").status()
        assert statuses, "Kafka was started before PostgreSQL failed"
        assert not any(node["alive"] for node in statuses.values())
        assert _processes_mentioning(str(base)) == []
        assert not PostgresCluster(base / "postgres").is_running()
    finally:
        KafkaCluster(base / "kafka").stop()
        PostgresCluster(base / "postgres").remove()


async def test_a_removed_checkout_directory_starts_afresh_outside_too(tmp_path: Path) -> None:
    base = _private_dir(tmp_path / "home") / "checkout" / ".local" / "pg"
    cluster = PostgresCluster(base)
    try:
        cluster.start()
        cluster.create_database("kept_before_clean")
        cluster.stop()
        shutil.rmtree(base)  # `make clean`; the server's files may live outside it

        fresh = PostgresCluster(base)
        conn = await asyncpg.connect(fresh.start())
        try:
            names = await conn.fetch("SELECT datname FROM pg_database")
        finally:
            await conn.close()
        assert "kept_before_clean" not in {row["datname"] for row in names}
    finally:
        PostgresCluster(base).remove()


def _never_ready(*args: object) -> None:
    raise TimeoutError("not ready in time (injected)")


def test_a_postgres_server_that_never_gets_ready_is_stopped_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = PostgresCluster(tmp_path / "pg")
    monkeypatch.setattr(PostgresCluster, "_wait_ready", _never_ready)
    try:
        with pytest.raises(TimeoutError, match="injected"):
            cluster.start()
        assert not cluster.status()["alive"]
        assert _processes_mentioning(str(cluster.data_dir)) == []
    finally:
        cluster.remove()


def test_kafka_nodes_that_never_get_ready_are_stopped_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = KafkaCluster(tmp_path / "kafka", nodes=1)
    monkeypatch.setattr(KafkaCluster, "_wait_ready", _never_ready)
    try:
        with pytest.raises(TimeoutError, match="injected"):
            cluster.start()
        assert not any(node["alive"] for node in cluster.status().values())
        assert _processes_mentioning(str(cluster.base_dir)) == []
    finally:
        cluster.stop()
