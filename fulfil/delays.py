"""`fulfil delays`: announce a delay (a sales peak, a courier's problem, the weather) to every
customer whose parcel it covers, and see how far each announcement has reached, through the
logistics service's ops API (`/v1/ops/delays`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from fulfil.config import Config, OpsError
from fulfil.ops_api import call
from fulfil.output import console, emit_json, table

_JSON = click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
_DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.group()
def delays() -> None:
    """Delays announced to the customers whose parcels they cover."""


@delays.command()
@click.argument("delay_id")
@click.option(
    "--cause",
    type=click.Choice(["peak", "courier_problem", "weather", "other"]),
    required=True,
    help="told to the customer in their language",
)
@click.option("--from", "expected_from", type=_DAY, required=True, help="first date covered")
@click.option("--to", "expected_to", type=_DAY, required=True, help="last date covered")
@click.option("--days", type=click.IntRange(1, 30), required=True, help="working days later")
@click.option(
    "--parcels",
    type=click.Choice(["waiting", "on_its_way", "all"]),
    default="all",
    show_default=True,
    help="waiting in the warehouse (dates they leave), on their way (dates they arrive)",
)
@click.option("--region", help="only parcels delivered to this region")
@click.option("--courier", help="only this courier's parcels")
@_JSON
@click.pass_obj
def announce(
    config: Config,
    delay_id: str,
    cause: str,
    expected_from: datetime,
    expected_to: datetime,
    days: int,
    parcels: str,
    region: str | None,
    courier: str | None,
    as_json: bool,
) -> None:
    """Announces DELAY_ID: every parcel expected from --from to --to (of the region and
    courier, when named) is expected --days working days later, and its customer is told
    once; so are parcels that open or ship before --to passes. The same command again
    changes nothing."""
    if not delay_id.strip() or "/" in delay_id:
        raise OpsError(f"not a delay id: {delay_id!r}")
    body: dict[str, Any] = {
        "cause": cause,
        "expected_from": expected_from.date().isoformat(),
        "expected_to": expected_to.date().isoformat(),
        "days": days,
        "parcels": parcels,
        "region": region,
        "courier": courier,
    }
    made = call(config, "logistics", "PUT", f"/v1/ops/delays/{delay_id}", json=body)
    if as_json:
        emit_json(made)
        return
    console.out(
        f"{made['delay_id']}: {made['cause']}, {_scope(made)}; "
        f"{made['covered']} open parcels covered, {made['told']} told so far",
        highlight=False,
    )


def _scope(d: dict[str, Any]) -> str:
    where = " ".join(x for x in (d["region"], d["courier"]) if x) or "everywhere"
    return (
        f"{d['parcels']} parcels expected {d['expected_from']} to {d['expected_to']} "
        f"({where}) +{d['days']} working days"
    )


@delays.command("list")
@click.option("--in-force", is_flag=True, help="only those whose range has not passed")
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True)
@_JSON
@click.pass_obj
def listed(config: Config, in_force: bool, limit: int, as_json: bool) -> None:
    """The delays announced, the latest first, with the parcels each covered and told."""
    params: dict[str, Any] = {"limit": limit, "in_force": str(in_force).lower()}
    found = call(config, "logistics", "GET", "/v1/ops/delays", params=params)["delays"]
    if as_json:
        emit_json(found)
        return
    columns = ("delay", "cause", "covers", "announced", "covered", "told")
    rows = [
        (d["delay_id"], d["cause"], _scope(d), d["announced_at"], d["covered"], d["told"])
        for d in found
    ]
    table(f"delays announced: {len(found)}", columns, rows)
