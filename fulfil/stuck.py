"""`fulfil stuck`: orders that stayed in one stage past its threshold, oldest first, from
the order service's ops API (`/ops/stuck`)."""

from __future__ import annotations

from typing import Any, get_args

import click

from fulfil.config import Config, OpsError
from fulfil.ops_api import call
from fulfil.output import emit_json, table
from shared.contracts.events.order import StuckStage

STAGES: tuple[str, ...] = get_args(StuckStage)


def waited(seconds: float) -> str:
    """A duration as a person reads it: `45s`, `12m`, `3h 05m`, `2d 04h`."""
    total = int(seconds)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


@click.command()
@click.option("--stage", help=f"only this stage: {', '.join(STAGES)}")
@click.option("--limit", type=click.IntRange(1, 5000), default=500, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
@click.pass_obj
def stuck(config: Config, stage: str | None, limit: int, as_json: bool) -> None:
    """Orders stuck in a stage longer than its threshold, the longest waiting first."""
    if stage is not None and stage not in STAGES:
        raise OpsError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    params: dict[str, Any] = {"limit": limit} | ({"stage": stage} if stage else {})
    found = call(config, "order", "GET", "/ops/stuck", params=params)["stuck"]
    if as_json:
        emit_json(found)
        return
    rows = [
        (
            s["order_id"],
            s["stage"],
            s["since"],
            waited(s["waited_seconds"]),
            waited(s["threshold_seconds"]),
            s["detail"],
        )
        for s in found
    ]
    columns = ("order", "stage", "since", "waited", "allowed", "detail")
    table(f"stuck orders ({len(found)})", columns, rows)
