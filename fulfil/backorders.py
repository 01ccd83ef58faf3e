"""`fulfil backorders`: goods received for the orders that wait, the date a SKU is expected
back, and a SKU's queue, through the logistics service's ops API (`/v1/stock/SKU/...`)."""

from __future__ import annotations

from datetime import date

import click

from fulfil.config import Config, OpsError
from fulfil.ops_api import call
from fulfil.output import console, emit_json, table


def _sku(sku: str) -> str:
    if not sku.strip() or "/" in sku:
        raise OpsError(f"not a SKU: {sku!r}")
    return sku


@click.group()
def backorders() -> None:
    """Orders waiting for goods out of stock, and the goods that serve them."""


@backorders.command()
@click.argument("sku")
@click.argument("quantity", type=click.IntRange(min=1))
@click.option("--warehouse", help="the warehouse it came into (default: the main one)")
@click.option("--receipt-id", help="the delivery's own id: saying it twice adds nothing")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
@click.pass_obj
def receive(
    config: Config,
    sku: str,
    quantity: int,
    warehouse: str | None,
    receipt_id: str | None,
    as_json: bool,
) -> None:
    """Goods received: the orders waiting for the SKU take them first, oldest first."""
    body: dict[str, object] = {"quantity": quantity}
    if warehouse:
        body["warehouse"] = warehouse
    if receipt_id:
        body["receipt_id"] = receipt_id
    done = call(config, "logistics", "POST", f"/v1/stock/{_sku(sku)}/receipts", json=body)
    if as_json:
        emit_json(done)
        return
    served = done["served"]
    filled = sum(1 for s in served if s["filled"])
    again = " (sent before: nothing added)" if done["repeated"] else ""
    console.out(
        f"{done['quantity']} x {done['sku']} into {done['warehouse']}{again}: "
        f"{len(served)} waiting orders served, {filled} now ship whole",
        highlight=False,
    )


@backorders.command("restock-date")
@click.argument("sku")
@click.argument("expected_on")
@click.pass_obj
def restock_date(config: Config, sku: str, expected_on: str) -> None:
    """When the SKU is expected back (YYYY-MM-DD, or `none`): the messages tell it."""
    when: str | None = None
    if expected_on.lower() != "none":
        try:
            when = date.fromisoformat(expected_on).isoformat()
        except ValueError as exc:
            raise OpsError(f"not a date (YYYY-MM-DD or none): {expected_on!r}") from exc
    path = f"/v1/stock/{_sku(sku)}/restock-date"
    done = call(config, "logistics", "PUT", path, json={"expected_on": when})
    told = f", {done['told']} waiting orders told" if done.get("told") else ""
    console.out(f"{done['sku']} expected back: {done['expected_on'] or 'not known'}{told}")


@backorders.command("list")
@click.argument("sku")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
@click.pass_obj
def list_(config: Config, sku: str, as_json: bool) -> None:
    """The orders waiting for the SKU, in the order goods received serve them."""
    found = call(config, "logistics", "GET", f"/v1/stock/{_sku(sku)}/backorders")
    if as_json:
        emit_json(found)
        return
    rows = [
        (b["order_id"], b["state"], b["quantity"], b["held"], b["since"], b["choose_by"] or "")
        for b in found["backorders"]
    ]
    expected = found["restock_expected"] or "not known"
    title = f"{found['sku']}: {len(rows)} waiting, expected back {expected}"
    table(title, ("order", "state", "short", "held", "since", "choose by"), rows)
