"""`fulfil parcels`: what the warehouse tells of parcels, through the logistics service's
ops API (`/v1/ops/shipments/ID/...`)."""

from __future__ import annotations

import click

from fulfil.config import Config, OpsError
from fulfil.ops_api import call
from fulfil.output import console, emit_json


@click.group()
def parcels() -> None:
    """Parcels as the warehouse handles them."""


@parcels.command()
@click.argument("shipment_id")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
@click.pass_obj
def returned(config: Config, shipment_id: str, as_json: bool) -> None:
    """A parcel going back to the shop (refused at the door, or undeliverable) is in the
    warehouse again, and the courier never reported it: its goods go back on the shelf.
    Saying it twice changes nothing."""
    if not shipment_id.strip() or "/" in shipment_id:
        raise OpsError(f"not a shipment id: {shipment_id!r}")
    back = call(config, "logistics", "POST", f"/v1/ops/shipments/{shipment_id}/returned")
    if as_json:
        emit_json(back)
        return
    goods = ", ".join(f"{x['sku']} x{x['quantity']}" for x in back["restocked"]) or "nothing"
    console.out(
        f"{back['shipment_id']} back at the shop (order {back['order_id']}): restocked {goods}",
        highlight=False,
    )
