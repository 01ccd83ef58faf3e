"""`fulfil exchanges`: the exchanges whose units are still to come back, one exchange in
full, and recording the units received, through the returns service's API
(`/v1/ops/exchanges`, `/v1/exchanges/ID/...`)."""

from __future__ import annotations

from typing import Any

import click

from fulfil.config import Config, OpsError
from fulfil.ops_api import call, pages
from fulfil.output import console, emit_json, table
from fulfil.refunds import money, waited

_JSON = click.option("--json", "as_json", is_flag=True, help="JSON for scripts")


def _id(exchange_id: str) -> str:
    if not exchange_id.strip() or "/" in exchange_id:
        raise OpsError(f"not an exchange id: {exchange_id!r}")
    return exchange_id


@click.group()
def exchanges() -> None:
    """Exchanges of a delivered item for another variant: what is due back, and receiving it."""


@exchanges.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True)
@_JSON
@click.pass_obj
def list_(config: Config, limit: int, as_json: bool) -> None:
    """Exchanges whose units the shop still waits to receive back, oldest first."""
    found, cursor = pages(config, "returns", "/v1/ops/exchanges", "exchanges", limit)
    if as_json:
        emit_json(found)
        return
    rows = [
        (
            x["id"],
            x["order_id"],
            x["status"],
            x["reason"],
            f"{x['line']['sku']} x{x['line']['quantity']} -> {x['replacement_sku']}",
            x["return_tracking_number"] or "-",
            waited(x["waited_seconds"]),
        )
        for x in found
    ]
    more = " (more not shown: raise --limit)" if cursor else ""
    columns = ("exchange", "order", "status", "reason", "goods", "return parcel", "waited")
    table(f"exchanges awaiting their return: {len(found)}{more}", columns, rows)


@exchanges.command()
@click.argument("exchange_id")
@_JSON
@click.pass_obj
def show(config: Config, exchange_id: str, as_json: bool) -> None:
    """One exchange: its goods, difference, return parcel, replacement parcel and steps."""
    found = call(config, "returns", "GET", f"/v1/exchanges/{_id(exchange_id)}")
    if as_json:
        emit_json(found)
        return
    _summary(found)
    for step in found["steps"]:
        console.out(f"  {step['at']}  {step['action']} ({step['actor']})", highlight=False)


@exchanges.command()
@click.argument("exchange_id")
@_JSON
@click.pass_obj
def receive(config: Config, exchange_id: str, as_json: bool) -> None:
    """The exchanged units are back with the shop: they go back on the shelf, the
    replacement leaves once any difference is paid, a cheaper one's difference is refunded."""
    path = f"/v1/exchanges/{_id(exchange_id)}/return-received"
    done = call(config, "returns", "POST", path, json={})
    if as_json:
        emit_json(done)
        return
    _summary(done)


def _summary(x: dict[str, Any]) -> None:
    line, difference = x["line"], x["difference"]
    settled = {"charge": "to pay", "refund": "to refund"}.get(x["settlement"] or "", "")
    owed = f", {money(difference)} {settled}" if settled else ""
    parcel = (x.get("shipment") or {}).get("tracking_number")
    sent = f", replacement sent ({parcel})" if parcel else ""
    console.out(
        f"{x['id']} {x['status']} (order {x['order_id']}): {line['sku']} x{line['quantity']} "
        f"-> {x['replacement_sku']}{owed}{sent}",
        highlight=False,
    )
