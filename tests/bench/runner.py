"""python -m tests.bench: the benchmark (a command, not a timed test).

    python -m tests.bench                  # idle, open loop at 100/s, max throughput, the limits
    python -m tests.bench --rate 300 --duration 60
    python -m tests.bench --phases open           # only the open-loop phase (plus the limits)
    python -m tests.bench --limits-only           # only the broker's and the database's limits
    python -m tests.bench --short                 # an everyday check: both phases, short, no limits

Its own stack lives in `.local/bench/` (never the dev stack or the tests') and is made
anew for every phase (the Kafka jars and PostgreSQL stay cached, so that takes seconds),
reports go to `reports/` (JSON, Markdown, a latency plot and a CPU-per-order chart).
The first phase's stack is measured idle first (`idle` in the report).

The driver is this process (`bench-driver` in the report, apart from the system): it
places orders over HTTP with kept-alive connections, completes each checkout on the
sandbox provider's page (which sends the signed callback), and reads the topics with
one consumer, decoding only the bodies it needs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from deploy.demo.shop import DEFAULT_CATALOGUE, Edges, KeepAliveClient, Shop
from deploy.demo.stackrun import BENCH_TIMES, infra_pids, service_pids, start_stack
from deploy.local.kafka import KAFKA_VERSION, KafkaCluster
from deploy.local.postgres import PostgresCluster
from tests.bench import parts, report

REPO = Path(__file__).resolve().parents[2]


def log(message: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--dir", type=Path, default=REPO / ".local" / "bench", help="stack directory")
    p.add_argument("--reports", type=Path, default=REPO / "reports")
    p.add_argument("--phases", default="open,max", help="open, max, or both (comma separated)")
    p.add_argument("--rate", type=float, default=100.0, help="open-loop target orders/s")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of placing per phase")
    p.add_argument("--concurrency", type=int, default=64, help="clients in max-throughput mode")
    p.add_argument("--drain", type=float, default=60.0, help="seconds to wait for stragglers")
    p.add_argument("--idle", type=float, default=10.0,
                   help="seconds the first phase's stack is measured idle (0: not)")  # fmt: skip
    p.add_argument("--limits-only", action="store_true", help="measure only the parts' limits")
    p.add_argument("--no-limits", action="store_true", help="skip the parts' limits")
    p.add_argument("--perf-records", type=int, default=300_000)
    p.add_argument("--e2e-messages", type=int, default=3000)
    p.add_argument("--record-size", type=int, default=0, help="bytes (0: the mean event size seen)")
    p.add_argument("--pg-connections", type=int, default=8)
    p.add_argument("--pg-seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=60.0,
                   help="seconds of uncounted closed-loop load before each phase")  # fmt: skip
    p.add_argument("--keep", action="store_true", help="leave the bench stack running")
    p.add_argument("--replicas", type=int, default=1, help="instances of each service")
    p.add_argument("--short", action="store_true",
                   help="an everyday check: 10 s per phase after 20 s of warm-up, 5 s idle, "
                   "no limits")  # fmt: skip
    args = p.parse_args(argv)
    if args.short:
        args.duration, args.drain, args.no_limits = min(args.duration, 10.0), 20.0, True
        args.idle, args.warmup = min(args.idle, 5.0), min(args.warmup, 20.0)
    return args


def machine() -> dict[str, Any]:
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) // 1024
    return {
        "cpus": os.cpu_count(),
        "memory_mb": mem,
        "python": platform.python_version(),
        "kafka": KAFKA_VERSION,
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def wipe_stack(base: Path) -> None:
    """Removes a stopped bench stack's directory; refuses a folder that is not one."""
    if not base.exists():
        return
    if not (base / "stack.json").exists() and any(base.iterdir()):
        raise SystemExit(f"{base} is not empty and holds no stack.json; not removing it")
    from deploy.local.stack import Stack

    Stack(base).down()
    shutil.rmtree(base)


def database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


async def prepare_stock(shop: Shop) -> None:
    """Plenty of stock for every SKU the load orders (the happy path never runs out)."""
    for item in DEFAULT_CATALOGUE:
        await shop.put_stock(item["sku"], on_hand=10_000_000, threshold=0,
                             name=item["name"], variant=item["variant"])  # fmt: skip


async def run_load(
    args: argparse.Namespace,
    state: dict[str, Any],
    admin_dsn: str,
    wanted: list[str],
    idle_s: float = 0.0,
) -> dict[str, Any]:
    edges = Edges.from_stack(state)
    phases: dict[str, Any] = {}
    pids = service_pids(state)
    components: dict[str, tuple[int, bool]] = {name: (pid, False) for name, pid in pids.items()}
    for name, pid in infra_pids(args.dir).items():
        components[name] = (pid, name == "postgres")
    components["bench-driver"] = (os.getpid(), False)
    databases = [database_name(dsn) for dsn in state["databases"].values()]
    metrics_urls = {name: svc["url"] for name, svc in state["services"].items()}
    async with KeepAliveClient(connections=300, timeout=30.0) as client:
        shop = Shop(edges, client)
        await prepare_stock(shop)
        for name in wanted:
            rate = args.rate if name == "open" else None
            label = f"open-loop {args.rate:g}/s" if name == "open" else "max-throughput"
            try:
                phases[label] = await parts_safe_phase(
                    label, shop, state, args, rate, components, metrics_urls, admin_dsn, databases,
                    idle_s,
                )  # fmt: skip
            except Exception as exc:
                log(f"{label}: failed: {exc!r}")
                phases[label] = {"error": repr(exc), "trace": traceback.format_exc()[-2000:]}
    return phases


async def parts_safe_phase(
    label: str,
    shop: Shop,
    state: dict[str, Any],
    args: argparse.Namespace,
    rate: float | None,
    components: dict[str, tuple[int, bool]],
    metrics_urls: dict[str, str],
    admin_dsn: str,
    databases: list[str],
    idle_s: float,
) -> dict[str, Any]:
    from tests.bench.load import run_phase

    return await run_phase(
        label, shop, state["bootstrap"], rate=rate, concurrency=args.concurrency,
        duration=args.duration, drain_timeout=args.drain, processes=components,
        metrics_urls=metrics_urls, admin_dsn=admin_dsn, databases=databases, idle_s=idle_s,
        warmup_s=args.warmup, log=log,
    )  # fmt: skip


def standalone_parts(base: Path) -> tuple[str, str, Any]:
    """Broker and database without the services (for --limits-only)."""
    kafka = KafkaCluster(base / "kafka")
    bootstrap = kafka.start()
    pg = PostgresCluster(base / "postgres")
    pg.start()

    def stop_both() -> None:
        pg.stop()
        kafka.stop()

    return bootstrap, pg.dsn("postgres"), stop_both


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    args.dir = args.dir.resolve()
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("dir", "reports")},
        "service_env": BENCH_TIMES,
        "phases": {},
        "notes": [],
    }
    stack = None
    stop_parts = None
    try:
        if args.limits_only:
            bootstrap, admin_dsn, stop_parts = standalone_parts(args.dir)
        else:
            wanted = [p.strip() for p in args.phases.split(",") if p.strip()]
            for i, phase in enumerate(wanted):
                # each phase on a new stack: what an earlier run or phase left unfinished
                # (parcels in transit, messages to send) would be worked off during it
                log(f"starting a new bench stack in {args.dir} ...")
                wipe_stack(args.dir)
                stack, state = start_stack(args.dir, dict(BENCH_TIMES), replicas=args.replicas)
                bootstrap = state["bootstrap"]
                admin_dsn = stack.postgres.dsn("postgres")
                idle_s = args.idle if i == 0 else 0.0
                phases = asyncio.run(run_load(args, state, admin_dsn, [phase], idle_s))
                for measured in phases.values():
                    if "idle" in measured:
                        result["idle"] = measured.pop("idle")
                result["phases"].update(phases)
        if not args.no_limits:
            if stack is not None:  # the parts alone: the services would compete for the CPU
                log("stopping the services; broker and database stay up for their limits")
                stack.stop_processes()
                result["notes"].append(
                    "the parts' limits are measured after the load, with the services stopped"
                )
            size = args.record_size or mean_event_size(result) or 800
            result["limits"] = parts.measure_limits(
                bootstrap, admin_dsn, perf_records=args.perf_records,
                e2e_messages=args.e2e_messages, record_size=size,
                pg_connections=args.pg_connections, pg_seconds=args.pg_seconds, log=log,
            )  # fmt: skip
    finally:
        if not args.keep:
            if stack is not None:
                stack.down()
            if stop_parts is not None:
                stop_parts()
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    paths = report.write(result, args.reports)
    print_summary(result)
    for kind, path in paths.items():
        log(f"{kind}: {path}")
    return 0


def mean_event_size(result: dict[str, Any]) -> int | None:
    """The mean size of the events the load produced (the broker test sends the same)."""
    sizes = [p["mean_event_bytes"] for p in result["phases"].values() if p.get("mean_event_bytes")]
    return round(sum(sizes) / len(sizes)) if sizes else None


def print_summary(result: dict[str, Any]) -> None:
    ratios = report.ratios(result)
    for name, phase in result["phases"].items():
        if phase.get("error"):
            print(f"{name}: not measured ({phase['error']})")
            continue
        lat = phase["latency"]
        print(
            f"{name}: sustained {phase['sustained_orders_per_s']} orders/s "
            f"({phase['completed']}/{phase['placed']} completed), "
            f"{phase['events_per_order']} events/order, {phase['commits_per_order']} commits/order"
        )
        for stage in ("paid", "shipped", "delivered", "confirmation"):
            row = lat[stage]
            print(f"  placement→{stage:<12} p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms  "
                  f"p99 {row['p99_ms']} ms  (n={row['n']})")  # fmt: skip
        per_order = phase["cpu_ms_per_order"]
        for comp, row in phase["processes"].items():
            ms = per_order["processes"].get(comp)
            print(f"  {comp:<14} cpu {row['cpu_s']:>7} s  {ms!s:>7} ms/order  "
                  f"max rss {row['max_rss_mb']:>7} MB")  # fmt: skip
        print(f"  CPU per completed order: {per_order['system_total']} ms for the system, "
              f"{per_order['driver']} ms for the load driver "
              f"({per_order['driver_per_placed']} ms per placed order)")  # fmt: skip
        r = ratios.get(name, {})
        print(
            f"  ratios: broker share {r.get('broker_share')}, "
            f"database share {r.get('database_share')}"
        )
    idle = result.get("idle")
    if idle:
        print(f"idle ({idle['seconds']} s): {idle['system_cores']} cores for the system, "
              f"{idle['commits_per_s']} commits/s")  # fmt: skip
    for row in report.targets(result).values():
        met = {True: "met", False: "NOT met", None: "not measured"}[row["met"]]
        sign = "<=" if row["kind"] == "max" else ">="
        print(f"goal: {row['what']} {sign} {row['target']}: {row['value']} ({met})")
    limits = result.get("limits")
    if limits:
        print(json.dumps({
            "broker_records_per_s": limits["kafka_producer"]["records_per_s"],
            "broker_e2e_latency_ms": limits["kafka_end_to_end"]["latency_ms"],
            "postgres_commits_per_s": limits["postgres_commits"]["commits_per_s"],
        }, indent=2))  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
