"""An exchange on the order's timeline: each step the customer should see. Pure.

Returns runs the exchange (requested, accepted or refused, the difference paid, the
return received, the replacement shipped, or cancelled unpaid); the order only tells it.
Nothing else of the order changes: not its stage, its money (an exchange's difference is
charged and refunded apart from the order's own payment) nor its refund requests. Each
step is one entry keyed by the exchange, so a step told again adds nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.order.domain.order import Entry, Order, Outcome

REQUESTED = "exchange_requested"
ACCEPTED = "exchange_accepted"
REFUSED = "exchange_refused"
PAID = "exchange_paid"
RETURN_RECEIVED = "exchange_return_received"
SHIPPED = "exchange_shipped"
DELIVERED = "exchange_delivered"
CANCELLED = "exchange_cancelled"
KINDS = (REQUESTED, ACCEPTED, REFUSED, PAID, RETURN_RECEIVED, SHIPPED, DELIVERED, CANCELLED)


def named(order: Order, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The units of the order's lines (`line_id`, `sku`, `quantity`), each with the name and
    variant the order gives its line (the SKU as its name for a line the order lacks)."""
    by_id = {line.line_id: line for line in order.lines}
    out = []
    for unit in lines:
        line = by_id.get(unit["line_id"])
        name, variant = (line.name, line.variant) if line else (unit["sku"], None)
        out.append({**unit, "name": name, "variant": variant})
    return out


def step(kind: str, exchange_id: str, at: datetime, details: dict[str, Any]) -> Outcome:
    """The exchange's step `kind` on the timeline, once per exchange, and nothing else."""
    entry = Entry(f"{kind}:{exchange_id}", at, kind, {"exchange_id": exchange_id, **details})
    return Outcome(entries=[entry])


def with_lines(
    order: Order,
    kind: str,
    exchange_id: str,
    at: datetime,
    lines: list[dict[str, Any]],
    details: dict[str, Any],
) -> Outcome:
    """A step that names units of the order's lines (`lines`), as the order names them."""
    return step(kind, exchange_id, at, {"lines": named(order, lines), **details})
