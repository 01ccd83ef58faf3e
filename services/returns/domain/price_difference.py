"""Price-difference refunds: the price of a line's SKU fell after the customer paid. Pure.

The difference is the unit price paid less the current (lower) price, for each unit,
never more than what the line was paid after its share of the discount. The refund is made
by rule when the lower price took effect after the payment and the request comes within the
configured time after it; otherwise it waits for operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.returns.domain.records import Line, OrderView, Policy, invalid


@dataclass(frozen=True)
class Price:
    """A SKU's current selling price and when it took effect (the catalogue's history)."""

    amount: int
    currency: str
    since: datetime


@dataclass(frozen=True)
class Difference:
    amount: int
    by_rule: bool  # the rule is met: refunded without operations


def line_difference(line: Line, quantity: int, price: Price | None, currency: str) -> int:
    """What `quantity` units of `line` are owed at `price`: 0 when it is not lower."""
    if price is None or price.currency != currency or price.amount >= line.unit_price:
        return 0
    return min((line.unit_price - price.amount) * quantity, line.paid_for(quantity))


def difference(
    order: OrderView,
    wanted: tuple[tuple[str, int], ...],
    prices: dict[str, Price],
    policy: Policy,
    now: datetime,
) -> Difference:
    """The difference owed on `wanted` (line id, quantity), and whether the rule pays it."""
    assert order.currency is not None
    owed, all_after_payment = 0, True
    for line_id, quantity in wanted:
        line = order.lines[line_id]
        price = prices.get(line.sku)
        part = line_difference(line, quantity, price, order.currency)
        if part and price is not None:
            owed += part
            all_after_payment &= order.paid_at is not None and price.since > order.paid_at
    if owed == 0:
        message = "no line's current price is below what was paid for it"
        raise invalid("no_lower_price", message, "reason")
    in_time = order.paid_at is not None and now <= order.paid_at + policy.price_protection
    return Difference(owed, by_rule=all_after_payment and in_time)
