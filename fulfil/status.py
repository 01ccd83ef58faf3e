"""`fulfil status` and `fulfil stock`: each service's consumer lag and pending dead letters
(its `/ops/status`), and logistics' low stock (`/v1/ops/low-stock`)."""

from __future__ import annotations

from typing import Any

import click

from fulfil.config import Config, OpsError
from fulfil.ops_api import call
from fulfil.output import emit_json, table
from shared.contracts.registry import SERVICES

_JSON = click.option("--json", "as_json", is_flag=True, help="JSON for scripts")


def service_status(config: Config) -> dict[str, dict[str, Any]]:
    """Each service's own figures, or `{"error": ...}` for one that does not answer."""
    out: dict[str, dict[str, Any]] = {}
    for service in SERVICES:
        try:
            out[service] = call(config, service, "GET", "/ops/status")
        except OpsError as exc:
            out[service] = {"service": service, "error": exc.message}
    return out


def low_stock(config: Config, limit: int = 500) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = call(
        config, "logistics", "GET", "/v1/ops/low-stock", params={"limit": limit}
    )["low_stock"]
    return found


@click.command()
@_JSON
@click.pass_obj
def status(config: Config, as_json: bool) -> None:
    """Per service: consumer lag (as its lag monitor last measured it) and dead letters
    pending, by reason."""
    found = service_status(config)
    if as_json:
        emit_json(found)
        return
    rows = []
    for service, s in found.items():
        if "error" in s:
            rows.append((service, "-", "-", "-", s["error"]))
            continue
        lag = s["lag"]["total"]
        letters = s["dead_letters"]
        reasons = ", ".join(f"{r['reason']} {r['pending']}" for r in letters["by_reason"])
        measured = s["lag"]["measured_at"] or "not yet"
        rows.append((service, "-" if lag is None else lag, measured, letters["pending"], reasons))
    styles = [
        "bold red" if "error" in s or s["dead_letters"]["pending"] else None for s in found.values()
    ]
    columns = ("service", "lag", "measured", "dead letters", "by reason")
    table("services", columns, rows, styles)


@click.command()
@click.option("--limit", type=click.IntRange(1, 5000), default=500, show_default=True)
@_JSON
@click.pass_obj
def stock(config: Config, limit: int, as_json: bool) -> None:
    """Stock at or below its low-stock threshold, the least available first."""
    found = low_stock(config, limit)
    if as_json:
        emit_json(found)
        return
    rows = [
        (
            s["sku"],
            s["warehouse"],
            s["name"] or "-",
            s["available"],
            s["low_stock_threshold"],
            s["on_hand"],
            s["reserved"],
        )
        for s in found
    ]
    columns = ("sku", "warehouse", "name", "available", "threshold", "on hand", "reserved")
    table(f"low stock ({len(rows)})", columns, rows)
