"""`fulfil warehouse`: the pick list and the warehouse's steps of a shipment (picked,
packed, handed over to the courier), through the logistics service's ops API
(`/v1/ops/pick-list`, `/v1/ops/shipments/ID/...`). Only the hand-over ships the parcel."""

from __future__ import annotations

from typing import Any

import click

from fulfil.config import Config, OpsError
from fulfil.ops_api import call
from fulfil.output import console, emit_json, table

_JSON = click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
_PAGE = 500  # the most the pick list returns at once


@click.group()
def warehouse() -> None:
    """Shipments waiting in the warehouse: the pick list, and each step of one."""


@warehouse.command("pick-list")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@_JSON
@click.pass_obj
def pick_list(config: Config, limit: int, as_json: bool) -> None:
    """Shipments to pick, picked or packed, the earliest promised ship date first."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(found) < limit:
        params: dict[str, Any] = {"limit": min(_PAGE, limit - len(found))}
        if cursor is not None:
            params["cursor"] = cursor
        page = call(config, "logistics", "GET", "/v1/ops/pick-list", params=params)
        found.extend(page["pick_list"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    if as_json:
        emit_json(found)
        return
    columns = (
        "shipment", "order", "parcel", "from", "stage", "promised", "courier", "items",
        "gift message",
    )  # fmt: skip
    rows = [
        (
            s["shipment_id"],
            s["order_id"],
            _parcel(s.get("parcel")),
            s.get("warehouse") or "",
            s["stage"],
            s["promised_ship_date"],
            s["courier"],
            _lines(s["lines"]),
            s["gift_message"] or "",
        )
        for s in found
    ]
    more = " (more not shown: raise --limit)" if cursor else ""
    table(f"waiting in the warehouse: {len(found)}{more}", columns, rows)
    if page["to_put_back"]:
        console.out(
            f"{page['to_put_back']} stopped shipments' picked goods to put back on the shelf: "
            "fulfil warehouse put-back-list",
            highlight=False,
        )


def _parcel(parcel: dict[str, Any] | None) -> str:
    """Which of the order's parcels: "1/2", blank for an order that ships whole."""
    if not parcel or int(parcel.get("of") or 1) <= 1:
        return ""
    return f"{parcel['number']}/{parcel['of']}"


def _lines(lines: list[dict[str, Any]]) -> str:
    return ", ".join(
        f"{x['sku']} {x['name']}{' (' + x['variant'] + ')' if x.get('variant') else ''} "
        f"x{x['quantity']}"
        for x in lines
    )


def _step(config: Config, shipment_id: str, step: str, body: dict[str, Any] | None = None) -> Any:
    if not shipment_id.strip() or "/" in shipment_id:
        raise OpsError(f"not a shipment id: {shipment_id!r}")
    path = f"/v1/ops/shipments/{shipment_id}/{step}"
    return call(config, "logistics", "POST", path, **({"json": body} if body else {}))


def _said(done: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(done)
        return
    weight = (
        f", {done['weight_grams']} g in {done['parcels']} parcel" if done["weight_grams"] else ""
    )
    console.out(
        f"{done['shipment_id']} (order {done['order_id']}): {done['stage']}{weight}; "
        f"parcel {done['status']}",
        highlight=False,
    )


@warehouse.command()
@click.argument("shipment_id")
@_JSON
@click.pass_obj
def picked(config: Config, shipment_id: str, as_json: bool) -> None:
    """The shipment's goods are off the shelf. Saying it twice changes nothing."""
    _said(_step(config, shipment_id, "picked"), as_json)


@warehouse.command()
@click.argument("shipment_id")
@click.option("--weight-grams", type=int, required=True, help="the packed parcel's weight")
@click.option("--parcels", type=int, default=1, show_default=True, help="one per shipment")
@_JSON
@click.pass_obj
def packed(
    config: Config, shipment_id: str, weight_grams: int, parcels: int, as_json: bool
) -> None:
    """The picked goods are packed and weighed."""
    body = {"weight_grams": weight_grams, "parcels": parcels}
    _said(_step(config, shipment_id, "packed", body), as_json)


@warehouse.command("handed-over")
@click.argument("shipment_id")
@_JSON
@click.pass_obj
def handed_over(config: Config, shipment_id: str, as_json: bool) -> None:
    """The packed parcel is with the courier: it is booked and so shipped, once."""
    _said(_step(config, shipment_id, "handed-over"), as_json)


@warehouse.command("put-back-list")
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True)
@_JSON
@click.pass_obj
def put_back_list(config: Config, limit: int, as_json: bool) -> None:
    """Shipments stopped after their goods were picked: the goods to put back on the shelf."""
    found = call(config, "logistics", "GET", "/v1/ops/put-back", params={"limit": limit})
    if as_json:
        emit_json(found["put_back"])
        return
    columns = ("shipment", "order", "stage", "picked", "items")
    rows = [
        (s["shipment_id"], s["order_id"], s["stage"], s["picked_at"], _lines(s["lines"]))
        for s in found["put_back"]
    ]
    table(f"to put back on the shelf: {len(rows)}", columns, rows)


@warehouse.command("put-back")
@click.argument("shipment_id")
@_JSON
@click.pass_obj
def put_back(config: Config, shipment_id: str, as_json: bool) -> None:
    """The goods of a shipment stopped after picking are back on the shelf. Saying it twice
    changes nothing."""
    back = _step(config, shipment_id, "put-back")
    if as_json:
        emit_json(back)
        return
    console.out(
        f"{back['shipment_id']} (order {back['order_id']}): goods back on the shelf at "
        f"{back['put_back_at']}",
        highlight=False,
    )
