"""python -m deploy.demo: the system at work, as a live shop.

Starts the local stack (as `make up` does, in `.local/demo/` by default) with
time accelerated (windows and timers in seconds), then in the foreground a shop
driver that places orders over HTTP and plays the payment provider, the
carrier, the customers and operations, and a live view of the funnel as the
services' own /metrics tell it (the figures `fulfil funnel` shows). Ctrl-C
stops the driver and prints a summary; the stack keeps running (`--down` stops
it too; `python -m deploy.local.stack down --dir .local/demo`).

    python -m deploy.demo                       # 2 orders/s until Ctrl-C
    python -m deploy.demo --rate 5 --duration 120
    python -m deploy.demo --mix pay_now=5,return_after_delivery=2,never_pay=1
    python -m deploy.demo --traces .local/demo/spans.jsonl   # every span, one JSON a line
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from deploy.demo.driver import DEFAULT_MIX, Driver, parse_mix
from deploy.demo.funnel import Funnel
from deploy.demo.shop import Edges, Shop
from deploy.demo.stackrun import DEMO_TIMES, REPO, start_stack
from deploy.demo.topics import TopicTap
from deploy.demo.view import run_view, summary_table
from deploy.local.stack import SERVICES

# Parcels leave the warehouse a few seconds after payment, so a customer can
# still cancel a paid order before it ships (the refund-before-shipping flow); the
# dispatch delay applies when the warehouse steps are switched off (--set
# LOGISTICS_WAREHOUSE_STEPS=false).
# The shop offers SF Express for a surcharge, which SF cannot honour in Taipei: the
# demo's customers who pay for it there get another courier and the surcharge back.
# Paid orders wait in the warehouse, which the driver plays: it picks, packs and hands
# each parcel to the courier within a few seconds (only the hand-over ships it), and puts
# back on the shelf the goods of an order cancelled after they were picked.
DEMO_ONLY = {
    "LOGISTICS_SHIP_DELAY_SECONDS": "4",
    "LOGISTICS_WAREHOUSE_STEPS": "true",
    "ORDER_COURIER_OPTIONS": '{"sf": 1200}',
    "LOGISTICS_COURIER_EXCLUDED_REGIONS": '{"sf": ["Taipei"]}',
    # A customer of the scarce item has a minute to answer the backorder message.
    "LOGISTICS_BACKORDER_CHOICE_SECONDS": "60",
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m deploy.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--rate", type=float, default=2.0, help="orders placed per second")
    p.add_argument("--duration", type=float, default=0.0, help="seconds (0: until Ctrl-C)")
    p.add_argument(
        "--mix", help=f"scenario weights, e.g. pay_now=5,never_pay=1 ({', '.join(DEFAULT_MIX)})"
    )
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--dir", type=Path, default=REPO / ".local" / "demo", help="stack directory")
    p.add_argument("--set", action="append", default=[], metavar="VAR=VALUE",
                   help="extra service setting, e.g. ORDER_PAYMENT_WINDOW_SECONDS=90")  # fmt: skip
    p.add_argument("--traces", type=Path, metavar="FILE",
                   help="the services append their spans to FILE, one JSON object a line "
                   "(when the stack starts; or set OTEL_EXPORTER_OTLP_ENDPOINT)")  # fmt: skip
    p.add_argument("--down", action="store_true", help="stop the stack when the demo ends")
    p.add_argument("--plain", action="store_true", help="print lines instead of the live view")
    return p.parse_args(argv)


async def run(args: argparse.Namespace, state: dict[str, Any], console: Console) -> dict[str, Any]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=15.0) as client:
        shop = Shop(Edges.from_stack(state), client)
        driver = Driver(shop, args.rate, parse_mix(args.mix), seed=args.seed)
        driver.page_url = state.get("web", {}).get("url")  # the view links the last order's page
        await driver.prepare()
        driver_tap = TopicTap(state["bootstrap"])
        await driver_tap.start()
        funnel = Funnel({name: svc["url"] for name, svc in state["services"].items()})

        async def feed_driver() -> None:
            async for batch in driver_tap.batches(timeout_ms=100):
                driver.on_records(batch)

        async def place() -> None:
            await driver.place_forever(stop, args.duration or None)
            if args.duration:
                await asyncio.sleep(10)  # let the last orders move on screen
                stop.set()

        feeder = asyncio.create_task(feed_driver())
        placer = asyncio.create_task(place())
        sweeper = asyncio.create_task(driver.put_back_forever(stop))
        restocker = asyncio.create_task(driver.restock_forever(stop))
        interactive = console.is_terminal and not args.plain
        try:
            await run_view(funnel, driver.lines, stop, console, interactive)
        finally:
            stop.set()
            placer.cancel()
            feeder.cancel()
            sweeper.cancel()
            restocker.cancel()
            for task in (placer, feeder, sweeper, restocker):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await driver.stop()
            await driver_tap.stop()
    return {"shop": funnel.summary(), "driver": driver.summary()}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    args.dir = args.dir.resolve()
    console = Console()
    env = {**DEMO_TIMES, **DEMO_ONLY}
    if args.traces is not None:
        env |= {f"{name.upper()}_TRACES_FILE": str(args.traces.resolve()) for name in SERVICES}
    for item in args.set:
        name, _, value = item.partition("=")
        env[name.strip()] = value
    console.print(
        f"[bold]starting the stack in {args.dir}[/] (broker, database, five services) ..."
    )
    stack = None
    try:
        stack, state = start_stack(args.dir, env)
        console.print(f"customer messages received: {state['sinks']['messages_url']}")
        summary = asyncio.run(run(args, state, console))
        console.print(summary_table(summary["shop"]))
        console.print(f"driver: {json.dumps(summary['driver'])}")
        out = args.dir / "demo-summary.json"
        out.write_text(json.dumps(summary, indent=2, default=str))
        console.print(f"summary written to {out}")
    finally:
        if args.down and stack is not None:
            stack.down()
        elif stack is not None:
            console.print(
                "the stack keeps running (the next demo reuses it); stop it with: "
                f"python -m deploy.local.stack down --dir {args.dir}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
