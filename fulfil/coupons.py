"""`fulfil coupons`: the coupon codes customers give at checkout, from the order service's
ops API (`/ops/coupons`): list them, issue one, expire one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from fulfil.config import Config
from fulfil.ops_api import call
from fulfil.output import emit_json, table


def _amount(coupon: dict[str, Any]) -> str:
    if coupon["kind"] == "percent":
        return f"{coupon['value']}% off"
    return f"{coupon['value']} {coupon['currency']} off"


def _show(found: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        emit_json(found)
        return
    rows = [
        (
            c["code"],
            _amount(c),
            c["min_spend"],
            c["valid_from"] or "-",
            c["expired_at"] or c["valid_until"] or "-",
            f"{c['used']}/{c['usage_limit']}" if c["usage_limit"] else str(c["used"]),
        )
        for c in found
    ]
    table(title, ("code", "discount", "min spend", "from", "until", "used"), rows)


@click.group()
def coupons() -> None:
    """Coupon codes: list, create, expire."""


@coupons.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
@click.pass_obj
def list_coupons(config: Config, limit: int, as_json: bool) -> None:
    """The coupons, the newest first."""
    found = call(config, "order", "GET", "/ops/coupons", params={"limit": limit})
    _show(found, as_json, f"coupons ({len(found)})")


@coupons.command("create")
@click.argument("code")
@click.option("--percent", type=click.IntRange(1, 100), help="a percentage off the goods")
@click.option("--amount", type=click.IntRange(1), help="a fixed amount off, minor units")
@click.option("--currency", help="the fixed amount's currency, e.g. CNY")
@click.option("--min-spend", type=click.IntRange(0), default=0, help="goods, minor units")
@click.option("--valid-from", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]))
@click.option("--valid-until", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]))
@click.option("--usage-limit", type=click.IntRange(1), help="orders that may use it")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
@click.pass_obj
def create_coupon(
    config: Config,
    code: str,
    percent: int | None,
    amount: int | None,
    currency: str | None,
    min_spend: int,
    valid_from: datetime | None,
    valid_until: datetime | None,
    usage_limit: int | None,
    as_json: bool,
) -> None:
    """Issues coupon CODE: --percent N, or --amount N --currency CNY."""
    if (percent is None) == (amount is None):
        raise click.UsageError("give --percent or --amount (one of them)")
    body: dict[str, Any] = {
        "code": code,
        "kind": "percent" if percent is not None else "fixed",
        "value": percent if percent is not None else amount,
        "currency": currency,
        "min_spend": min_spend,
        "usage_limit": usage_limit,
    }
    for name, moment in (("valid_from", valid_from), ("valid_until", valid_until)):
        if moment is not None:
            body[name] = (moment if moment.tzinfo else moment.astimezone()).isoformat()
    created = call(config, "order", "POST", "/ops/coupons", json=body)
    _show([created], as_json, "coupon created")


@coupons.command("expire")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
@click.pass_obj
def expire_coupon(config: Config, code: str, as_json: bool) -> None:
    """Ends coupon CODE now: later orders are refused it."""
    expired = call(config, "order", "POST", f"/ops/coupons/{code}/expire")
    _show([expired], as_json, "coupon expired")
