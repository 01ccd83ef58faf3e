"""`fulfil search`: orders by id, phone or email through the order service's ops API
(`/ops/orders`), newest first, contacts masked."""

from __future__ import annotations

from typing import Any

import click

from fulfil.config import Config
from fulfil.ops_api import call
from fulfil.output import emit_json, table

_PAGE = 200  # the most the search returns at once


def search_orders(config: Config, query: str, limit: int = 50) -> dict[str, Any]:
    """Up to `limit` orders matching `query`, and what they matched by."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    matched_by = ""
    while len(found) < limit:
        params = {"q": query, "limit": min(_PAGE, limit - len(found))}
        page = call(config, "order", "GET", "/ops/orders", params=params | _cursor(cursor))
        found.extend(page["orders"])
        matched_by, cursor = page["matched_by"], page["next_cursor"]
        if cursor is None:
            break
    return {"matched_by": matched_by, "orders": found}


def _cursor(cursor: str | None) -> dict[str, str]:
    return {} if cursor is None else {"cursor": cursor}


@click.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
@click.pass_obj
def search(config: Config, query: str, limit: int, as_json: bool) -> None:
    """Orders by QUERY: an order id, the customer's or recipient's phone, or the
    customer's email (any case); newest first, contacts masked."""
    result = search_orders(config, query, limit)
    if as_json:
        emit_json(result["orders"])
        return
    rows = [
        (
            o["order_id"],
            o["stage"],
            o["placed_at"],
            f"{o['total']['amount']} {o['total']['currency']}",
            o["contact"].get("phone") or "-",
            o["contact"].get("email") or "-",
        )
        for o in result["orders"]
    ]
    title = f"orders by {result['matched_by']} ({len(rows)})"
    table(title, ("order", "stage", "placed", "total", "phone", "email"), rows)
