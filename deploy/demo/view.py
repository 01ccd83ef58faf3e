"""The live terminal view: the funnel and the flow as the services' /metrics tell them
(fulfil funnel's view), redrawn every two seconds with `rich`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.style import Style
from rich.table import Table
from rich.text import Text

from deploy.demo.funnel import STAGES, Funnel
from fulfil.funnel import render as fulfil_render

REFRESH_SECONDS = 2.0


LINK = "follow an order: "


def _driver_text(driver_lines: list[str]) -> Text:
    """The driver's lines; an order page's link is shown by its order id, linked (a URL
    wrapped inside a panel's borders would no longer open the page when copied)."""
    text = Text()
    for n, line in enumerate(driver_lines or ["-"]):
        if n:
            text.append("\n")
        if line.startswith(LINK):
            url = line.removeprefix(LINK)
            order_id = url.split("/orders/")[-1].split("?")[0]
            text.append(LINK)
            text.append(order_id, style=Style(link=url, underline=True))
        else:
            text.append(line)
    return text


def page_links(driver_lines: list[str]) -> list[str]:
    return [line.removeprefix(LINK) for line in driver_lines if line.startswith(LINK)]


def render(funnel: Funnel, driver_lines: list[str], elapsed: float) -> Group:
    figures = fulfil_render(funnel.figures, funnel.rates)
    driver = _driver_text(driver_lines)
    return Group(
        Panel(figures, title=f"fulfil live shop · {elapsed:,.0f}s · Ctrl-C stops", expand=False),
        Panel(driver, title="shop driver", expand=False),
    )


async def run_view(
    funnel: Funnel,
    driver_lines: Callable[[], list[str]],
    stop: asyncio.Event,
    console: Console | None = None,
    interactive: bool = True,
) -> None:
    """Reads the services' figures and redraws every `REFRESH_SECONDS` until `stop` is set
    (a line every few seconds when not on a terminal)."""
    started = time.monotonic()
    every = REFRESH_SECONDS if interactive else 5.0
    await funnel.start()
    if interactive:
        told = False
        with Live(console=console, refresh_per_second=4, screen=False) as live:
            while not stop.is_set():
                await funnel.refresh()
                lines = driver_lines()
                if not told and (links := page_links(lines)):
                    # once, above the view, whole: a terminal wraps it without breaking it
                    live.console.print(f"{LINK}{links[0]}", soft_wrap=True, highlight=False)
                    told = True
                live.update(render(funnel, lines, time.monotonic() - started))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=every)
    else:
        while not stop.is_set():
            await funnel.refresh()
            print(_line(funnel, time.monotonic() - started), flush=True)
            for link in page_links(driver_lines()):
                print(f"{LINK}{link}", flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
    await funnel.refresh()  # the summary's figures, as the run ends


def _line(funnel: Funnel, elapsed: float) -> str:
    counts = " ".join(f"{stage}={funnel.count(stage)}" for stage in STAGES)
    return f"[{elapsed:5.0f}s] {counts} messages={funnel.figures['messages_sent']}"


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
