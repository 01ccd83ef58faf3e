"""The bench's report: CPU per order with the driver apart, the goals, the files it writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.bench import report
from tests.bench.load import cpu_ms_per_order
from tests.bench.samplers import ProcessSampler

SERVICES = ("order", "payment", "logistics", "notify", "returns")


def processes(cpu_s: float, rss_mb: float) -> dict[str, Any]:
    names = [*SERVICES, "kafka-node-1", "postgres", "sinks", "bench-driver"]
    return {
        name: {
            "cpu_s": cpu_s,
            "cpu_share_of_one_core": 0.1,
            "peak_rss_mb": rss_mb,
            "max_rss_mb": rss_mb,
            "process_tree": name == "postgres",
        }
        for name in names
    }


def stage(p99: float) -> dict[str, Any]:
    return {"n": 10, "p50_ms": p99 / 2, "p95_ms": p99, "p99_ms": p99, "max_ms": p99}


def phase(
    mode: str,
    *,
    rate: float | None,
    placed: int,
    completed: int,
    p99: float,
    cpu_s: float = 1.0,
    rss_mb: float = 100.0,
    sustained: float = 210.0,
) -> dict[str, Any]:
    procs = processes(cpu_s, rss_mb)
    return {
        "mode": mode, "target_rate": rate, "duration_s": 10, "placed": placed,
        "placement_errors": 0, "placing_s": 10.0, "completed": completed,
        "sustained_orders_per_s": sustained, "events_per_order": 21.0,
        "commits_per_order": 40.0, "commits_per_order_raw": 41.0, "idle_commits_per_s": 1.0,
        "latency": {s: stage(p99) for s in ("paid", "shipped", "delivered", "confirmation")},
        "processes": procs, "cpu_ms_per_order": cpu_ms_per_order(procs, completed, placed),
        "metrics": {}, "samples": {"confirmation": [(0.0, p99)]},
    }  # fmt: skip


def result(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "started_at": "2026-12-02T04:00:00Z",
        "machine": {"cpus": 2},
        "phases": {
            "open-loop 100/s": phase("open_loop", rate=100, placed=1000, completed=1000, p99=200),
            "max-throughput": phase(
                "max_throughput", rate=None, placed=2100, completed=2000, p99=900, cpu_s=2.0
            ),
        },
        "idle": {"seconds": 10.0, "system_cores": 0.04, "commits_per_s": 1.5, "cores": {}},
        "notes": [],
    }
    base.update(overrides)
    return base


def test_the_driver_is_counted_apart_from_the_system() -> None:
    per = cpu_ms_per_order(processes(cpu_s=2.0, rss_mb=1), completed=1000, placed=2000)

    assert per["processes"]["bench-driver"] == 2.0
    assert per["system_total"] == 16.0  # eight processes of the system at 2 ms each
    assert per["driver"] == 2.0
    assert per["driver_per_placed"] == 1.0


def test_a_run_that_meets_every_goal_says_so() -> None:
    goals = report.targets(result())

    assert {name: row["met"] for name, row in goals.items()} == dict.fromkeys(goals, True)
    assert goals["cpu_ms_per_order"]["value"] == 8.0
    assert goals["p99_confirmation_ms"]["value"] == 200


def test_goals_missed_or_not_measured_are_told_apart() -> None:
    run = result(idle=None)
    run["phases"]["max-throughput"]["processes"]["notify"]["max_rss_mb"] = 180.0
    run["phases"]["open-loop 100/s"]["completed"] = 999  # not every placed order completed

    goals = report.targets(run)

    assert goals["max_rss_mb_per_service"] == {**goals["max_rss_mb_per_service"],
                                               "value": 180.0, "met": False}  # fmt: skip
    assert goals["p99_confirmation_ms"]["met"] is None
    assert goals["idle_cores"]["met"] is None


def test_the_report_keeps_its_fields_and_draws_latency_and_cpu(tmp_path: Path) -> None:
    paths = report.write(result(), tmp_path)

    saved = json.loads(paths["json"].read_text())
    peak = saved["phases"]["max-throughput"]
    assert peak["processes"]["order"]["cpu_s"] == 2.0
    assert (peak["completed"], peak["placed"], peak["sustained_orders_per_s"]) == (2000, 2100, 210)
    assert peak["latency"]["confirmation"]["p99_ms"] == 900
    assert peak["cpu_ms_per_order"]["system_total"] == 8.0
    assert saved["idle"]["system_cores"] == 0.04
    assert saved["targets"]["cpu_ms_per_order"]["met"] is True
    assert paths["plot"].stat().st_size > 0
    assert paths["cpu plot"].stat().st_size > 0
    text = paths["markdown"].read_text()
    assert "## Goals (issue 14)" in text
    assert "## Idle stack" in text
    assert paths["cpu plot"].name in text


def test_the_sampler_keeps_the_largest_rss_seen_in_the_phase() -> None:
    sampler = ProcessSampler({"me": (os.getpid(), False)})
    sampler.start_cpu = sampler.cpu_now()
    sampler.sample()
    ballast = bytearray(64 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page so it is resident
    sampler.sample()
    del ballast
    sampler.sample()

    summary = sampler.summary()["me"]
    assert summary["max_rss_mb"] >= sampler.series[0]["me"]["rss_kb"] / 1024 + 60


def test_a_process_tree_keeps_the_cpu_of_children_that_ended() -> None:
    sampler = ProcessSampler({"tree": (os.getpid(), True)})
    before = sampler.cpu_now()["tree"]
    child = subprocess.run(
        [sys.executable, "-c", "sum(i * i for i in range(10_000_000))"], check=True
    )
    assert child.returncode == 0

    assert sampler.cpu_now()["tree"] - before >= 0.1


def test_a_process_tree_finds_a_child_started_after_the_first_sample() -> None:
    sampler = ProcessSampler({"tree": (os.getpid(), True)})
    sampler.cpu_now()
    with subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE) as child:
        found = child.pid in sampler._pids()["tree"]
        child.communicate(b"\n")

    assert found
    assert child.pid not in sampler._pids()["tree"]


def test_small_goal_figures_keep_their_digits(tmp_path: Path) -> None:
    run = result(idle={"seconds": 10.0, "system_cores": 0.586, "commits_per_s": 1.5, "cores": {}})

    text = report.write(run, tmp_path)["markdown"].read_text()

    assert "| idle stack, cores | ≤ 0.05 | 0.586 | **no** |" in text
