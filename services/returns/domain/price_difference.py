"""Price-difference refunds: the price of a line's SKU fell after the customer paid. Pure.

The difference is the unit price paid less the current (lower) price, for each unit the
customer still holds (the line's quantity less the units refunded, returned or exchanged),
less the price difference live requests already took on the line, never more than what is
left of the line's payment (what it was paid less everything refunded for it). So the same
drop is refunded once, and a further drop only by what it adds. The refund is made by rule
when the lower price took effect after the payment and the request comes within the
configured time after it; otherwise it waits for operations.

A price difference taken rests on the units still held, shared evenly: a later refund of
some of them gives back what they were paid less their share of it (`deduction`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.returns.domain.records import Holdings, Line, OrderView, Policy, invalid


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
    lines: dict[str, int] = field(default_factory=dict)  # what each line takes of `amount`


def held_units(line: Line, held: Holdings) -> int:
    """The units of `line` the customer still holds: not refunded, returned or exchanged."""
    return max(line.quantity - held.used_quantity.get(line.line_id, 0), 0)


def outstanding(line: Line, held: Holdings) -> int:
    """The price difference already taken that rests on the units still held."""
    taken = held.price_difference.get(line.line_id, 0)
    return max(taken - held.price_difference_deducted.get(line.line_id, 0), 0)


def left_of_line(line: Line, held: Holdings) -> int:
    """What is left of the line's payment: what the units held were paid less the price
    difference resting on them (equally: the line's payment less all refunded for it)."""
    used = held.used_quantity.get(line.line_id, 0)
    return max(line.paid_for(held_units(line, held), used) - outstanding(line, held), 0)


def deduction(line: Line, held: Holdings, quantity: int) -> int:
    """The share of the price difference resting on the held units that `quantity` of them
    carry away when refunded: even per unit, rounded down, the last units take the rest."""
    units, resting = held_units(line, held), outstanding(line, held)
    if quantity <= 0 or units <= 0:
        return 0
    return resting if quantity >= units else resting * quantity // units


def line_difference(
    line: Line, quantity: int, price: Price | None, currency: str, held: Holdings | None = None
) -> int:
    """What `quantity` of the held units of `line` are still owed at `price`: 0 when it is
    not lower, or when what the line is owed at it was taken already."""
    held = held or Holdings()
    if price is None or price.currency != currency or price.amount >= line.unit_price:
        return 0
    units, used = held_units(line, held), held.used_quantity.get(line.line_id, 0)
    per_unit = line.unit_price - price.amount
    line_owed = min(per_unit * units, line.paid_for(units, used)) - outstanding(line, held)
    return max(min(per_unit * quantity, line.paid_for(quantity, used), line_owed), 0)


def difference(
    order: OrderView,
    wanted: tuple[tuple[str, int], ...],
    prices: dict[str, Price],
    policy: Policy,
    now: datetime,
    held: Holdings | None = None,
) -> Difference:
    """The difference owed on `wanted` (line id, quantity), and whether the rule pays it."""
    assert order.currency is not None
    held = held or Holdings()
    owed, lower, all_after_payment, parts = 0, False, True, {}
    for line_id, quantity in wanted:
        line = order.lines[line_id]
        price = prices.get(line.sku)
        lower |= line_difference(line, quantity, price, order.currency) > 0
        part = line_difference(line, quantity, price, order.currency, held)
        parts[line_id] = part
        if part and price is not None:
            owed += part
            all_after_payment &= order.paid_at is not None and price.since > order.paid_at
    if owed == 0 and not lower:
        message = "no line's current price is below what was paid for it"
        raise invalid("no_lower_price", message, "reason")
    if owed == 0:
        message = (
            "the difference to the current price was refunded or asked for already; "
            "only a further drop is owed"
        )
        raise invalid("already_compensated", message, "reason")
    in_time = order.paid_at is not None and now <= order.paid_at + policy.price_protection
    return Difference(owed, all_after_payment and in_time, parts)


def ceiling(line: Line, quantity: int, held: Holdings) -> int:
    """The most a price difference given by hand may take on `quantity` held units of
    `line`: what they were paid, and never more than is left of the line's payment."""
    used = held.used_quantity.get(line.line_id, 0)
    return min(line.paid_for(quantity, used), left_of_line(line, held))


def split(amount: int, caps: dict[str, int], reckoned: dict[str, int]) -> dict[str, int]:
    """An amount given by hand shared over its lines (in their order), each part within its
    line's cap: pro rata by each line's reckoned difference when those cover the amount,
    otherwise by the caps; cumulative rounding down, so the parts add up to the amount and
    the last line takes the remainder. The amount must not exceed the caps' sum."""
    weights = reckoned if 0 < amount <= sum(reckoned.values()) else caps
    total = sum(weights.values())
    assert 0 < amount <= sum(caps.values()) and total > 0
    parts, before, running = {}, 0, 0
    for line_id in caps:
        running += weights.get(line_id, 0)
        upto = amount * running // total
        parts[line_id] = upto - before
        before = upto
    return parts
