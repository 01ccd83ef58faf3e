"""The benchmark's JSON and Markdown reports, with a latency plot (matplotlib, Agg)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

TARGETS = {
    "sustained_orders_per_s": 300,
    "p99_confirmation_ms_at_half_rate": 250,
    "peak_rss_mb_per_service": 200,
}


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


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}"
    return f"{value}{unit}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def markdown(result: dict[str, Any], plot_name: str | None) -> str:
    lines = [f"# Benchmark {result['started_at']}", ""]
    machine = result.get("machine", {})
    lines += [
        f"Machine: {machine.get('cpus')} CPUs, {machine.get('memory_mb')} MB, "
        f"Python {machine.get('python')}, Kafka {machine.get('kafka')}; load average "
        f"{machine.get('load_average_at_start')} at start, {machine.get('load_average_at_end')} "
        "at end (anything else running on the machine skews every figure).",
        "",
    ]
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
            "| peak RSS MB |",
            "|---|---|---|---|---|",
        ]
        per_order = phase.get("cpu_ms_per_order", {})
        for comp, row in phase["processes"].items():
            share, peak = row["cpu_share_of_one_core"], row["peak_rss_mb"]
            ms = _fmt(per_order.get("processes", {}).get(comp))
            lines.append(f"| {comp} | {row['cpu_s']} | {ms} | {share} | {peak} |")
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
    if plot_name:
        lines += ["## Latency over the run", "", f"![latency]({plot_name})", ""]
    return "\n".join(lines)


def write(result: dict[str, Any], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"bench-{result['started_at'].replace(':', '').replace('-', '')}"
    result = dict(result, ratios=ratios(result))
    png = plot(result, folder / f"{stem}.png")
    (folder / f"{stem}.json").write_text(json.dumps(result, indent=2, default=str))
    (folder / f"{stem}.md").write_text(markdown(result, png.name if png else None))
    paths = {"json": folder / f"{stem}.json", "markdown": folder / f"{stem}.md"}
    if png:
        paths["plot"] = png
    return paths
