"""The benchmark's JSON and Markdown reports, with a latency plot and a CPU-per-order
chart (matplotlib, Agg), and the goals of issue 14 checked against the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

SERVICES = ("order", "payment", "logistics", "notify", "returns")
DRIVER = "bench-driver"

# name -> (what, bound, "max" if the figure must stay at or under it, "min" at or over)
TARGETS: dict[str, tuple[str, float, str]] = {
    "cpu_ms_per_order": ("system CPU per completed order, max-throughput (ms)", 10, "max"),
    "sustained_orders_per_s": ("completed orders/s sustained, max-throughput", 200, "min"),
    "p99_confirmation_ms": ("placement to confirmation p99 at 100 orders/s (ms)", 250, "max"),
    "idle_cores": ("idle stack, cores", 0.05, "max"),
    "idle_commits_per_s": ("idle stack, commits/s", 2, "max"),
    "max_rss_mb_per_service": ("largest service RSS during a phase (MB)", 150, "max"),
}


def _phase(result: dict[str, Any], mode: str) -> dict[str, Any] | None:
    for phase in (result.get("phases") or {}).values():
        if phase.get("mode") == mode and not phase.get("error"):
            return phase
    return None


def targets(result: dict[str, Any]) -> dict[str, Any]:
    """Each goal with the run's figure and whether it is met (None: not measured)."""
    peak = _phase(result, "max_throughput") or {}
    open_loop = _phase(result, "open_loop") or {}
    idle = result.get("idle") or {}
    rss = [
        row.get("max_rss_mb")
        for phase in (result.get("phases") or {}).values()
        for name, row in (phase.get("processes") or {}).items()
        if name in SERVICES and row.get("max_rss_mb") is not None
    ]
    p99 = None
    if open_loop.get("target_rate") == 100 and open_loop.get("completed") == open_loop.get(
        "placed"
    ):  # the goal asks for every placed order completed
        p99 = open_loop["latency"]["confirmation"]["p99_ms"]
    values = {
        "cpu_ms_per_order": (peak.get("cpu_ms_per_order") or {}).get("system_total"),
        "sustained_orders_per_s": peak.get("sustained_orders_per_s"),
        "p99_confirmation_ms": p99,
        "idle_cores": idle.get("system_cores"),
        "idle_commits_per_s": idle.get("commits_per_s"),
        "max_rss_mb_per_service": max(rss) if rss else None,
    }
    out: dict[str, Any] = {}
    for name, (what, bound, kind) in TARGETS.items():
        value = values[name]
        met = None if value is None else (value <= bound if kind == "max" else value >= bound)
        out[name] = {"what": what, "target": bound, "kind": kind, "value": value, "met": met}
    return out


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    """(orders/s x events per order) / broker records/s and (orders/s x commits per order)
    / database commits/s, for each load phase that ran."""
    limits = result.get("limits") or {}
    broker = (limits.get("kafka_producer") or {}).get("records_per_s")
    database = (limits.get("postgres_commits") or {}).get("commits_per_s")
    out: dict[str, Any] = {}
    for name, phase in (result.get("phases") or {}).items():
        rate = phase.get("sustained_orders_per_s") or phase.get("placement_rate")
        events = phase.get("events_per_order")
        commits = phase.get("commits_per_order")
        out[name] = {
            "orders_per_s_basis": "sustained"
            if phase.get("sustained_orders_per_s")
            else "placement rate (no order completed)",
            "broker_share": round(rate * events / broker, 4)
            if rate and events and broker
            else None,
            "database_share": round(rate * commits / database, 4)
            if rate and commits and database
            else None,
        }
    return out


def plot(result: dict[str, Any], path: Path) -> Path | None:
    phases = {n: p for n, p in (result.get("phases") or {}).items() if p.get("samples")}
    if not phases:
        return None
    fig, axes = plt.subplots(len(phases), 1, figsize=(10, 4 * len(phases)), squeeze=False)
    for axis, (name, phase) in zip(axes[:, 0], phases.items(), strict=True):
        for stage, points in phase["samples"].items():
            if points:
                xs, ys = zip(*points, strict=True)
                axis.plot(xs, ys, ".", markersize=2, label=stage, alpha=0.6)
        axis.set_yscale("log")
        axis.set_xlabel("seconds since the first order was placed")
        axis.set_ylabel("latency from placement (ms)")
        target = phase.get("target_rate")
        title = f"{name}: {phase.get('sustained_orders_per_s') or 0:.1f} orders/s sustained"
        axis.set_title(title + (f" (target {target}/s)" if target else ""))
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(markerscale=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_cpu(result: dict[str, Any], path: Path) -> Path | None:
    """Per phase, a bar per process: CPU ms per completed order (the driver apart)."""
    phases = {
        n: p
        for n, p in (result.get("phases") or {}).items()
        if (p.get("cpu_ms_per_order") or {}).get("processes")
    }
    if not phases:
        return None
    fig, axes = plt.subplots(len(phases), 1, figsize=(10, 3.5 * len(phases)), squeeze=False)
    for axis, (name, phase) in zip(axes[:, 0], phases.items(), strict=True):
        per = phase["cpu_ms_per_order"]
        names = list(per["processes"])
        values = [per["processes"][n] for n in names]
        colours = ["tab:grey" if n == DRIVER else "tab:blue" for n in names]
        bars = axis.barh(names, values, color=colours)
        axis.bar_label(bars, fmt="%.1f", padding=2, fontsize=8)
        axis.invert_yaxis()
        axis.set_xlabel("CPU ms per completed order")
        axis.set_title(
            f"{name}: system {per['system_total']} ms per order "
            f"(target {TARGETS['cpu_ms_per_order'][1]}), driver {per['driver']} ms (grey)"
        )
        axis.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}"
    return f"{value}{unit}"


def _num(value: float | None) -> str:
    """Three significant digits under 10 (idle cores), one decimal above."""
    if value is None:
        return "-"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _goals(result: dict[str, Any]) -> list[str]:
    rows = result.get("targets") or targets(result)
    lines = ["## Goals (issue 14)", "", "| goal | target | this run | met |", "|---|---|---|---|"]
    for row in rows.values():
        sign = "≤" if row["kind"] == "max" else "≥"
        met = {True: "yes", False: "**no**", None: "not measured"}[row["met"]]
        lines.append(f"| {row['what']} | {sign} {row['target']} | {_num(row['value'])} | {met} |")
    return [*lines, ""]


def _warmup_line(warmup: dict[str, Any] | None) -> str:
    if not warmup:
        return "- no warm-up: counted from the fresh stack's first order"
    return (
        f"- after a warm-up of {warmup['seconds']:.0f} s, not counted "
        f"({warmup['completed']} of {warmup['placed']} orders completed)"
    )


def _idle(result: dict[str, Any]) -> list[str]:
    idle = result.get("idle")
    if not idle:
        return []
    lines = [
        f"## Idle stack ({idle['seconds']} s with no load, before the first phase)",
        "",
        f"{idle['system_cores']} cores for the system, {idle['commits_per_s']} commits/s.",
        "",
        "| component | cores |",
        "|---|---|",
    ]
    lines += [f"| {name} | {cores} |" for name, cores in idle["cores"].items()]
    return [*lines, ""]


def markdown(
    result: dict[str, Any], plot_name: str | None, cpu_plot_name: str | None = None
) -> str:
    lines = [f"# Benchmark {result['started_at']}", ""]
    machine = result.get("machine", {})
    lines += [
        f"Machine: {machine.get('cpus')} CPUs, {machine.get('memory_mb')} MB, "
        f"Python {machine.get('python')}, Kafka {machine.get('kafka')}; load average "
        f"{machine.get('load_average_at_start')} at start, {machine.get('load_average_at_end')} "
        "at end (anything else running on the machine skews every figure).",
        "",
    ]
    lines += _goals(result) + _idle(result)
    limits = result.get("limits")
    if limits:
        prod, e2e, pg = (
            limits["kafka_producer"],
            limits["kafka_end_to_end"],
            limits["postgres_commits"],
        )
        lines += [
            "## The parts' own limits (same machine, same broker and database)",
            "",
            "| measurement | result |",
            "|---|---|",
            f"| Kafka ProducerPerformance ({prod['records']} x {prod['record_size']} B, acks=all) "
            f"| {prod['records_per_s']:,.0f} records/s, {prod['mb_per_s']} MB/s, "
            f"p99 {prod['latency_ms']['p99']:.0f} ms |",
            f"| Kafka EndToEndLatency ({e2e['messages']} round trips, acks=all) "
            f"| p50 {e2e['latency_ms']['p50']} ms, p99 {e2e['latency_ms']['p99']} ms, "
            f"p99.9 {e2e['latency_ms']['p99.9']} ms |",
            f"| PostgreSQL INSERT+COMMIT, {pg['connections']} connections, "
            f"synchronous_commit=on, fsync={pg['server']['fsync']} "
            f"| {pg['commits_per_s']:,.0f} commits/s, "
            f"p99 commit {pg['commit_latency_ms']['p99']} ms |",
            "",
        ]
    for name, phase in (result.get("phases") or {}).items():
        lines += [f"## Load: {name}", ""]
        if phase.get("error"):
            lines += [f"Not measured: {phase['error']}", ""]
            continue
        target = phase.get("target_rate")
        lines += [
            f"- target: {_fmt(target, ' orders/s') if target else 'max throughput'}"
            f", placed {phase['placed']} in {phase['placing_s']:.1f} s "
            f"({phase['placement_errors']} errors)",
            f"- sustained: **{_fmt(phase.get('sustained_orders_per_s'), ' orders/s')}** "
            f"delivered with confirmation sent ({phase['completed']} of {phase['placed']})",
            f"- events per order: {_fmt(phase.get('events_per_order'))}; "
            f"commits per order: {_fmt(phase.get('commits_per_order'))} (net of the "
            f"{_fmt(phase.get('idle_commits_per_s'))}/s the idle services commit; "
            f"raw {_fmt(phase.get('commits_per_order_raw'))})",
            _warmup_line(phase.get("warmup")),
            "",
            "| from placement to | n | p50 ms | p95 ms | p99 ms | max ms |",
            "|---|---|---|---|---|---|",
        ]
        for stage, row in phase["latency"].items():
            lines.append(
                f"| {stage} | {row['n']} | {_fmt(row['p50_ms'])} | {_fmt(row['p95_ms'])} "
                f"| {_fmt(row['p99_ms'])} | {_fmt(row['max_ms'])} |"
            )
        lines += [
            "",
            "| component | CPU s | CPU ms per completed order | CPU share of one core "
            "| max RSS MB in the phase | peak RSS MB since start |",
            "|---|---|---|---|---|---|",
        ]
        per_order = phase.get("cpu_ms_per_order", {})
        for comp, row in phase["processes"].items():
            share, peak = row["cpu_share_of_one_core"], row["peak_rss_mb"]
            ms = _fmt(per_order.get("processes", {}).get(comp))
            most = _fmt(row.get("max_rss_mb"))
            lines.append(f"| {comp} | {row['cpu_s']} | {ms} | {share} | {most} | {peak} |")
        lines.append(
            f"\nCPU per completed order: {_fmt(per_order.get('system_total'))} ms for the "
            f"system (services, broker, database, sinks), {_fmt(per_order.get('driver'))} ms "
            "for the load driver."
        )
        lines += [
            "",
            "| service | max outbox backlog | max consumer lag | final lag |",
            "|---|---|---|---|",
        ]
        for svc, row in phase["metrics"].items():
            lines.append(
                f"| {svc} | {_fmt(row['max_outbox_backlog'])} | {_fmt(row['max_consumer_lag'])} "
                f"| {_fmt(row['final_consumer_lag'])} |"
            )
        lines.append("")
    if result.get("ratios"):
        lines += [
            "## Ratios",
            "",
            "(orders/s x events per order) / broker records/s and "
            "(orders/s x commits per order) / database commits/s:",
            "",
            "| phase | broker share | database share |",
            "|---|---|---|",
        ]
        for name, row in result["ratios"].items():
            lines.append(
                f"| {name} | {_pct(row['broker_share'])} | {_pct(row['database_share'])} |"
            )
        lines.append("")
    if result.get("notes"):
        lines += ["## Notes", "", *[f"- {note}" for note in result["notes"]], ""]
    if cpu_plot_name:
        lines += ["## CPU per completed order", "", f"![cpu per order]({cpu_plot_name})", ""]
    if plot_name:
        lines += ["## Latency over the run", "", f"![latency]({plot_name})", ""]
    return "\n".join(lines)


def write(result: dict[str, Any], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"bench-{result['started_at'].replace(':', '').replace('-', '')}"
    result = dict(result, ratios=ratios(result), targets=targets(result))
    png = plot(result, folder / f"{stem}.png")
    cpu_png = plot_cpu(result, folder / f"{stem}-cpu.png")
    (folder / f"{stem}.json").write_text(json.dumps(result, indent=2, default=str))
    text = markdown(result, png.name if png else None, cpu_png.name if cpu_png else None)
    (folder / f"{stem}.md").write_text(text)
    paths = {"json": folder / f"{stem}.json", "markdown": folder / f"{stem}.md"}
    if png:
        paths["plot"] = png
    if cpu_png:
        paths["cpu plot"] = cpu_png
    return paths
