"""Samplers that run beside the load: process CPU and memory, and the services' /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.demo.shop import KeepAliveClient

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


@dataclass
class Parents:
    """Parent pids of every process, read once per process: each refresh lists /proc
    and reads only the processes it has not seen (the machine runs hundreds)."""

    known: dict[int, int] = field(default_factory=dict)

    def children(self) -> dict[int, list[int]]:
        alive = {int(name) for name in os.listdir("/proc") if name.isdigit()}
        for pid in self.known.keys() - alive:
            del self.known[pid]
        for pid in alive - self.known.keys():
            parent = _parent(pid)
            if parent is not None:
                self.known[pid] = parent
        tree: dict[int, list[int]] = {}
        for pid, parent in self.known.items():
            tree.setdefault(parent, []).append(pid)
        return tree


def _descendants(pid: int, children: dict[int, list[int]]) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def cpu_seconds(pid: int, reaped: bool = False) -> float:
    """User + system CPU seconds of one process (all its threads), 0 once it is gone;
    with `reaped`, plus those of its children that ended and it waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLOCK_TICKS


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) in kB."""
    values = {"VmRSS": 0, "VmHWM": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in values:
                values[name] = int(rest.split()[0])
    except OSError:
        pass
    return values


@dataclass
class ProcessSampler:
    """Per named component: CPU seconds used during the run, RSS over time, peak RSS.

    A component is a root pid; `tree=True` sums over its descendants (PostgreSQL), found
    from the parent pids, read once per process.
    """

    components: dict[str, tuple[int, bool]]
    interval: float = 1.0
    start_cpu: dict[str, float] = field(default_factory=dict)
    series: list[dict[str, Any]] = field(default_factory=list)
    peak_rss_kb: dict[str, int] = field(default_factory=dict)
    max_rss_kb: dict[str, int] = field(default_factory=dict)
    parents: Parents = field(default_factory=Parents)
    _started: float = 0.0

    def _pids(self) -> dict[str, list[int]]:
        trees = any(tree for _, tree in self.components.values())
        children = self.parents.children() if trees else {}
        return {
            name: _descendants(pid, children) if tree else [pid]
            for name, (pid, tree) in self.components.items()
        }

    def cpu_now(self) -> dict[str, float]:
        """CPU seconds each component has used so far."""
        return {name: self._cpu(name, pids) for name, pids in self._pids().items()}

    def _cpu(self, name: str, pids: list[int]) -> float:
        # a tree's processes that ended (PostgreSQL's closed connections) count through
        # its root, which waited for them
        root, tree = self.components[name]
        return sum(cpu_seconds(pid, reaped=tree and pid == root) for pid in pids)

    async def run(self, stop: asyncio.Event) -> None:
        self._started = time.monotonic()
        self.start_cpu = self.cpu_now()
        while not stop.is_set():
            self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
        self.sample()

    def sample(self) -> None:
        row: dict[str, Any] = {"t": round(time.monotonic() - self._started, 2)}
        for name, pids in self._pids().items():
            cpu = self._cpu(name, pids)
            mems = [memory_kb(pid) for pid in pids]
            rss = sum(m["VmRSS"] for m in mems)
            largest = max((m["VmRSS"] for m in mems), default=0)
            hwm = max((m["VmHWM"] for m in mems), default=0)
            row[name] = {"cpu_s": round(cpu - self.start_cpu.get(name, 0.0), 2), "rss_kb": rss}
            # a tree's summed RSS counts shared memory once per process: use its largest
            tree = self.components[name][1]
            self.peak_rss_kb[name] = max(
                self.peak_rss_kb.get(name, 0), hwm if tree else max(hwm, rss)
            )
            self.max_rss_kb[name] = max(self.max_rss_kb.get(name, 0), largest if tree else rss)
        self.series.append(row)

    def summary(self) -> dict[str, Any]:
        last = self.series[-1] if self.series else {}
        elapsed = last.get("t", 0.0) or 1e-9
        result = {}
        for name, (_, tree) in self.components.items():
            used = last.get(name, {}).get("cpu_s", 0.0)
            result[name] = {
                "cpu_s": used,
                "cpu_share_of_one_core": round(used / elapsed, 3),
                # since the process started (VmHWM); for a tree, its largest process's
                "peak_rss_mb": round(self.peak_rss_kb.get(name, 0) / 1024, 1),
                # the largest RSS sampled during the phase (a tree: its largest process's)
                "max_rss_mb": round(self.max_rss_kb.get(name, 0) / 1024, 1),
                "process_tree": tree,
            }
        return result


def parse_prometheus(text: str, names: tuple[str, ...]) -> dict[str, float]:
    """The sum over all label sets of each named sample."""
    totals = dict.fromkeys(names, 0.0)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        metric, _, rest = line.partition(" ")
        base = metric.split("{", 1)[0]
        if base in totals:
            with contextlib.suppress(ValueError):
                totals[base] += float(rest.split()[0])
    return totals


METRICS = ("fulfil_outbox_backlog", "fulfil_consumer_lag")


@dataclass
class MetricsSampler:
    """Outbox backlog and consumer lag of each service, from its /metrics, every second."""

    urls: dict[str, str]
    interval: float = 1.0
    series: list[dict[str, Any]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        started = time.monotonic()
        async with KeepAliveClient(connections=len(self.urls), timeout=2.0) as client:
            while not stop.is_set():
                row: dict[str, Any] = {"t": round(time.monotonic() - started, 2)}
                for name, url in self.urls.items():
                    try:
                        response = await client.request("GET", f"{url}/metrics", headers={})
                        values = parse_prometheus(response.text, METRICS)
                        row[name] = {
                            "outbox_backlog": values["fulfil_outbox_backlog"],
                            "consumer_lag": values["fulfil_consumer_lag"],
                        }
                    except OSError:
                        row[name] = None
                self.series.append(row)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.interval)

    def summary(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name in self.urls:
            rows = [r[name] for r in self.series if r.get(name)]
            result[name] = {
                "max_outbox_backlog": max((r["outbox_backlog"] for r in rows), default=None),
                "max_consumer_lag": max((r["consumer_lag"] for r in rows), default=None),
                "final_consumer_lag": rows[-1]["consumer_lag"] if rows else None,
                "samples": len(rows),
            }
        return result
