"""`fulfil refunds`: the refund requests awaiting operations, and deciding them, through the
returns service's ops API (`/v1/ops/refund-requests`, `/v1/refund-requests/ID/...`)."""

from __future__ import annotations

from typing import Any

import click

from fulfil.config import Config, OpsError
from fulfil.ops_api import call, pages
from fulfil.output import console, emit_json, table

_JSON = click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
_NO_MINOR_UNITS = frozenset({"JPY", "KRW"})


@click.group()
def refunds() -> None:
    """Refund requests awaiting operations: list, approve and refuse."""


@refunds.command("list")
@click.option(
    "--flow",
    type=click.Choice(["no_return", "with_return"]),
    help="only refunds without a return (price differences, parcels not received), or with one",
)
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True)
@_JSON
@click.pass_obj
def list_(config: Config, flow: str | None, limit: int, as_json: bool) -> None:
    """Requests awaiting a decision across all orders, oldest first, with how long each
    has waited."""
    path, params = "/v1/ops/refund-requests", {"flow": flow} if flow else {}
    found, cursor = pages(config, "returns", path, "refund_requests", limit, params)
    if as_json:
        emit_json(found)
        return
    columns = ("request", "order", "flow", "reason", "amount", "lines", "requested", "waited")
    rows = [
        (
            r["id"],
            r["order_id"],
            r["flow"],
            r["reason"],
            money(r["amount"]),
            _lines(r["lines"]),
            r["requested_at"],
            waited(r["waited_seconds"]),
        )
        for r in found
    ]
    more = " (more not shown: raise --limit)" if cursor else ""
    table(f"refund requests awaiting operations: {len(found)}{more}", columns, rows)


@refunds.command()
@click.argument("request_id")
@click.option("--note", help="recorded in the request's audit trail")
@_JSON
@click.pass_obj
def approve(config: Config, request_id: str, note: str | None, as_json: bool) -> None:
    """Approve a request awaiting operations (one with a return waives it)."""
    body = {"note": note} if note else None
    decided = _decide(config, request_id, "approve", body)
    _decided(decided, as_json)


@refunds.command()
@click.argument("request_id")
@click.option("--reason", required=True, help="why, as the customer is told (recorded)")
@_JSON
@click.pass_obj
def refuse(config: Config, request_id: str, reason: str, as_json: bool) -> None:
    """Refuse a request awaiting operations, with the reason the customer is told."""
    if not reason.strip():
        raise OpsError("--reason: say why the refund is refused")
    decided = _decide(config, request_id, "reject", {"reason": reason})
    _decided(decided, as_json)


def _decide(config: Config, request_id: str, action: str, body: dict[str, Any] | None) -> Any:
    if not request_id.strip() or "/" in request_id:
        raise OpsError(f"not a refund request id: {request_id!r}")
    return call(config, "returns", "POST", f"/v1/refund-requests/{request_id}/{action}", json=body)


def _decided(found: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(found)
        return
    why = f": {found['rejection_reason']}" if found.get("rejection_reason") else ""
    console.out(
        f"{found['id']} {found['status']} (order {found['order_id']}, "
        f"{money(found['amount'])}){why}",
        highlight=False,
    )


def waited(seconds: int) -> str:
    """A wait as a person reads it: the two largest units (`2d 3h`, `5m 10s`)."""
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


def money(amount: dict[str, Any]) -> str:
    """An amount as operations read it: `12.30 CNY` (whole units for JPY and KRW)."""
    value, currency = amount["amount"], amount["currency"]
    if currency in _NO_MINOR_UNITS:
        return f"{value} {currency}"
    return f"{value // 100}.{value % 100:02d} {currency}"


def _lines(lines: list[dict[str, Any]]) -> str:
    return ", ".join(f"{line['sku']} x{line['quantity']}" for line in lines) or "-"
