"""The parts' own limits on this machine: the broker and the database, measured alone.

- Kafka's `ProducerPerformance` (acks=all, idempotent, like the outbox relay's
  producer) against the same broker: records/s and send latency.
- Kafka's `EndToEndLatency` (produce one record, consume it, repeat).
- A durable-commit loop against the same PostgreSQL: several asyncpg
  connections each running `INSERT` + `COMMIT` with `synchronous_commit = on`.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import asyncpg
from aiokafka.admin import NewTopic

from deploy.local.kafka import run_tool
from shared.kafka.admin import create_missing

PERF_TOPIC = "bench.producer-perf.v1"
E2E_TOPIC = "bench.end-to-end.v1"
BENCH_DATABASE = "fulfil_bench"

_PERF_RE = re.compile(
    r"(?P<records>\d+) records sent, (?P<rps>[\d.]+) records/sec \((?P<mbps>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency, "
    r"(?P<p50>\d+) ms 50th, (?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th, (?P<p999>\d+) ms 99.9th"
)
_E2E_AVG_RE = re.compile(r"Avg latency: (?P<avg>[\d.]+) ms")
_E2E_PCT_RE = re.compile(
    r"Percentiles: 50th = (?P<p50>[\d.]+), 99th = (?P<p99>[\d.]+), 99\.9th = (?P<p999>[\d.]+)"
)


async def ensure_bench_topics(bootstrap: str, partitions: int = 6) -> None:
    """Create the two scratch topics (the broker does not auto-create topics)."""
    wanted = [(PERF_TOPIC, partitions), (E2E_TOPIC, 1)]
    await create_missing(
        bootstrap,
        lambda replication: [
            NewTopic(name=name, num_partitions=n, replication_factor=replication)
            for name, n in wanted
        ],
    )


def producer_performance(
    bootstrap: str, records: int = 200_000, record_size: int = 800, timeout: float = 300
) -> dict[str, Any]:
    """Kafka's producer benchmark at full speed, acks=all, idempotent, linger 2 ms."""
    args = [
        "--topic", PERF_TOPIC, "--num-records", str(records), "--record-size", str(record_size),
        "--throughput", "-1", "--producer-props", f"bootstrap.servers={bootstrap}",
        "acks=all", "enable.idempotence=true", "linger.ms=2",
    ]  # fmt: skip
    started = time.monotonic()
    result = run_tool("org.apache.kafka.tools.ProducerPerformance", args, timeout=timeout)
    match = None
    for line in result.stdout.splitlines():
        match = _PERF_RE.search(line) or match
    if match is None:
        raise RuntimeError(f"unexpected ProducerPerformance output:\n{result.stdout[-2000:]}")
    return {
        "tool": "org.apache.kafka.tools.ProducerPerformance",
        "records": int(match["records"]),
        "record_size": record_size,
        "acks": "all",
        "records_per_s": float(match["rps"]),
        "mb_per_s": float(match["mbps"]),
        "latency_ms": {
            "avg": float(match["avg"]),
            "p50": float(match["p50"]),
            "p95": float(match["p95"]),
            "p99": float(match["p99"]),
            "p99.9": float(match["p999"]),
            "max": float(match["max"]),
        },
        "wall_s": round(time.monotonic() - started, 2),
    }


def end_to_end_latency(
    bootstrap: str, messages: int = 2000, record_size: int = 800, timeout: float = 300
) -> dict[str, Any]:
    """Kafka's produce-then-consume round trip, one record at a time, acks=all."""
    args = [bootstrap, E2E_TOPIC, str(messages), "all", str(record_size)]
    result = run_tool("org.apache.kafka.tools.EndToEndLatency", args, timeout=timeout)
    avg = _E2E_AVG_RE.search(result.stdout)
    pct = _E2E_PCT_RE.search(result.stdout)
    if avg is None or pct is None:
        raise RuntimeError(f"unexpected EndToEndLatency output:\n{result.stdout[-2000:]}")
    return {
        "tool": "org.apache.kafka.tools.EndToEndLatency",
        "messages": messages,
        "record_size": record_size,
        "acks": "all",
        "latency_ms": {
            "avg": float(avg["avg"]),
            "p50": float(pct["p50"]),
            "p99": float(pct["p99"]),
            "p99.9": float(pct["p999"]),
        },
    }


def _with_database(admin_dsn: str, database: str) -> str:
    head, _, _ = admin_dsn.rpartition("/")
    return f"{head}/{database}"


async def _ensure_database(admin_dsn: str) -> str:
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", BENCH_DATABASE)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    finally:
        await conn.close()
    return _with_database(admin_dsn, BENCH_DATABASE)


async def commit_rate(
    admin_dsn: str, connections: int = 8, seconds: float = 10.0, payload_size: int = 800
) -> dict[str, Any]:
    """Durable commits/s: each connection loops INSERT + COMMIT with synchronous_commit on."""
    dsn = await _ensure_database(admin_dsn)
    setup = await asyncpg.connect(dsn)
    try:
        await setup.execute(
            "CREATE TABLE IF NOT EXISTS bench_commits ("
            " id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), body text NOT NULL)"
        )
        await setup.execute("TRUNCATE bench_commits")
        server = {
            name: await setup.fetchval(f"SHOW {name}")
            for name in ("fsync", "synchronous_commit", "wal_sync_method", "server_version")
        }
    finally:
        await setup.close()
    body = "x" * payload_size
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def worker() -> int:
        conn = await asyncpg.connect(dsn)
        done = 0
        try:
            await conn.execute("SET synchronous_commit = on")
            while time.monotonic() < deadline:
                started = time.perf_counter()
                async with conn.transaction():
                    await conn.execute("INSERT INTO bench_commits (body) VALUES ($1)", body)
                latencies.append(time.perf_counter() - started)
                done += 1
        finally:
            await conn.close()
        return done

    started = time.monotonic()
    counts = await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.monotonic() - started
    latencies.sort()
    total = sum(counts)
    return {
        "method": "asyncpg loop: BEGIN; INSERT; COMMIT (synchronous_commit = on)",
        "connections": connections,
        "seconds": round(elapsed, 2),
        "commits": total,
        "commits_per_s": round(total / elapsed, 1),
        "commit_latency_ms": {
            "p50": round(_pct(latencies, 50) * 1000, 2),
            "p99": round(_pct(latencies, 99) * 1000, 2),
        },
        "server": server,
    }


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(q / 100 * len(values)) - 1))
    return values[index]


def measure_limits(
    bootstrap: str,
    admin_dsn: str,
    *,
    perf_records: int,
    e2e_messages: int,
    record_size: int,
    pg_connections: int,
    pg_seconds: float,
    log: Any = print,
) -> dict[str, Any]:
    """All three measurements, one after the other (never concurrently: 2 cores)."""
    asyncio.run(ensure_bench_topics(bootstrap))
    log(f"limits: kafka ProducerPerformance, {perf_records} records of {record_size} B ...")
    producer = producer_performance(bootstrap, perf_records, record_size)
    log(
        f"limits: broker {producer['records_per_s']:.0f} records/s, "
        f"p99 send {producer['latency_ms']['p99']:.0f} ms"
    )
    log(f"limits: kafka EndToEndLatency, {e2e_messages} round trips ...")
    e2e = end_to_end_latency(bootstrap, e2e_messages, record_size)
    log(
        f"limits: end-to-end p50 {e2e['latency_ms']['p50']:.2f} ms, "
        f"p99 {e2e['latency_ms']['p99']:.2f} ms"
    )
    log(f"limits: postgres durable commits, {pg_connections} connections, {pg_seconds:.0f} s ...")
    commits = asyncio.run(commit_rate(admin_dsn, pg_connections, pg_seconds, record_size))
    log(
        f"limits: postgres {commits['commits_per_s']:.0f} commits/s "
        f"(fsync={commits['server']['fsync']})"
    )
    return {"kafka_producer": producer, "kafka_end_to_end": e2e, "postgres_commits": commits}
