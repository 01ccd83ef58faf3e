"""The live terminal view: the funnel and the flow, redrawn every second with `rich`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from deploy.demo.funnel import STAGES, Funnel
from deploy.demo.topics import TopicTap


def _bar(value: int, top: int, width: int = 30) -> str:
    if top <= 0:
        return ""
    return "█" * max(0, round(width * value / top))


def render(funnel: Funnel, driver_lines: list[str], elapsed: float) -> Group:
    placed = funnel.count("placed")
    stages = Table(title="Funnel (orders)", title_justify="left", expand=False)
    stages.add_column("stage")
    stages.add_column("orders", justify="right")
    stages.add_column("")
    for stage in STAGES:
        label = "cancelled" if stage == "cancelled" else stage
        stages.add_row(label, str(funnel.count(stage)), _bar(funnel.count(stage), placed))

    conversion = funnel.conversion()
    pay_ship = funnel.pay_to_ship_summary()
    headline = Table.grid(padding=(0, 2))
    headline.add_column()
    headline.add_column(justify="right")
    headline.add_row("payment conversion", f"{conversion:.1%}" if conversion is not None else "-")
    headline.add_row("payment failures", str(funnel.payment_failures))
    headline.add_row(
        "payment → shipped",
        f"median {pay_ship['median_s']:.2f}s  p95 {pay_ship['p95_s']:.2f}s" if pay_ship else "-",
    )
    headline.add_row(
        "messages sent", f"{sum(funnel.messages.values())} (failed {funnel.messages_failed})"
    )
    flows = ", ".join(f"{k} {v}" for k, v in sorted(funnel.refund_flows.items())) or "-"
    headline.add_row("refund requests", flows)
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(funnel.cancel_reasons.items())) or "-"
    headline.add_row("cancel reasons", reasons)

    topics = Table(title="Events per topic", title_justify="left")
    topics.add_column("topic")
    topics.add_column("total", justify="right")
    topics.add_column("/s (5 s)", justify="right")
    rates = funnel.topic_rates()
    for topic, total in sorted(funnel.per_topic.items()):
        style = "red" if topic.startswith("deadletter.") else ""
        topics.add_row(Text(topic, style=style), str(total), f"{rates.get(topic, 0.0):.1f}")

    templates = Table(title="Messages by template", title_justify="left")
    templates.add_column("template")
    templates.add_column("sent", justify="right")
    for template, count in funnel.messages.most_common(12):
        templates.add_row(template, str(count))

    top = Table.grid(padding=(0, 4))
    top.add_row(stages, Group(headline, Text(""), templates))
    driver = Text("\n".join(driver_lines) or "-")
    return Group(
        Panel(top, title=f"fulfil live shop · {elapsed:,.0f}s · Ctrl-C stops", expand=False),
        topics,
        Panel(driver, title="shop driver", expand=False),
    )


async def run_view(
    tap: TopicTap,
    funnel: Funnel,
    driver_lines: Callable[[], list[str]],
    stop: asyncio.Event,
    console: Console | None = None,
    interactive: bool = True,
) -> None:
    """Feeds `funnel` from the tap and redraws every second until `stop` is set."""
    started = time.monotonic()

    async def feed() -> None:
        async for batch in tap.batches():
            funnel.add(batch)
            if stop.is_set():
                return

    feeder = asyncio.create_task(feed())
    try:
        if interactive:
            with Live(console=console, refresh_per_second=4, screen=False) as live:
                while not stop.is_set():
                    live.update(render(funnel, driver_lines(), time.monotonic() - started))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=1.0)
        else:  # not a terminal: a line every few seconds
            while not stop.is_set():
                print(_line(funnel, time.monotonic() - started), flush=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=5.0)
    finally:
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeder


def _line(funnel: Funnel, elapsed: float) -> str:
    counts = " ".join(f"{stage}={funnel.count(stage)}" for stage in STAGES)
    return f"[{elapsed:5.0f}s] {counts} messages={sum(funnel.messages.values())}"


def summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title="Summary", title_justify="left")
    table.add_column("")
    table.add_column("", justify="right")
    for stage, count in summary["funnel"].items():
        table.add_row(stage, str(count))
    conversion = summary["payment_conversion"]
    table.add_row("payment conversion", f"{conversion:.1%}" if conversion is not None else "-")
    pay_ship = summary["pay_to_ship"]
    if pay_ship:
        table.add_row("payment → shipped (median)", f"{pay_ship['median_s']:.2f}s")
    table.add_row("messages sent", str(summary["messages_sent"]))
    for topic, count in summary["events_per_topic"].items():
        table.add_row(f"events on {topic}", str(count))
    return table
