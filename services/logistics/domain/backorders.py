"""Backorders: an order placed while some of its units were out of stock. Pure.

What is there is held; the short units wait on the order's backorder. The customer
chooses, by `choose_by`, to ship what is there (the short units dropped, refunded by
returns) or to wait; without an answer the default applies. Goods received go to the
backorders that need them first come, first served (`queued_at`, the order's placement):
the oldest takes what it is short of before the next gets any, so an order placed later
never overtakes one that waits. A backorder whose every unit is held is filled and ships
whole; an open one filled by a restock takes no answer any more.

A backorder is never made for cash on delivery (paid whole at the door), nor when none of
the order's units is in stock (nothing would ship): those stay all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

from services.logistics.domain.stock import Allocation, StockLevel, allocate, wanted_per_sku
from shared.contracts.events.common import BackorderChoice, LineQuantity, PaymentMethod
from shared.contracts.events.logistics import BackorderLine, BackorderRestockDateChanged

State = Literal["open", "waiting", "dropped", "filled", "cancelled"]
QUEUED = ("open", "waiting")  # what a restock serves
CHOICE = "backorder_choice"  # the timer of the deadline to choose, keyed by order id
ChosenBy = Literal["customer", "default"]


@dataclass(frozen=True)
class Short:
    """A line short at placement: `quantity` units short, `held` held then, `filled` held
    since by restocks."""

    line_id: str
    sku: str
    name: str
    variant: str | None
    quantity: int
    held: int
    filled: int = 0

    @property
    def missing(self) -> int:
        return self.quantity - self.filled

    def as_json(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "sku": self.sku,
            "name": self.name,
            "variant": self.variant,
            "quantity": self.quantity,
            "held": self.held,
            "filled": self.filled,
        }


@dataclass(frozen=True)
class Backorder:
    order_id: str
    state: State
    lines: tuple[Short, ...]
    choose_by: datetime
    default_choice: BackorderChoice
    queued_at: datetime
    chosen_by: ChosenBy | None = None

    @property
    def complete(self) -> bool:
        return all(line.missing == 0 for line in self.lines)

    def missing(self) -> dict[str, int]:
        """Units still short per SKU."""
        return {
            sku: n
            for sku, n in wanted_per_sku((x.sku, x.missing) for x in self.lines).items()
            if n > 0
        }


def may_backorder(payment_method: str | None, enabled: bool) -> bool:
    return enabled and payment_method != PaymentMethod.CASH_ON_DELIVERY


def split(
    lines: Sequence[Mapping[str, Any]], levels: Sequence[StockLevel]
) -> tuple[list[Allocation], list[Short]]:
    """What of the order is there: the allocations of every unit in stock (as
    `domain.stock.allocate` places them) and the lines short, each line taking what its
    SKU has in the order's line order. No allocation when nothing at all is in stock."""
    available: dict[str, int] = {}
    for level in levels:
        available[level.sku] = available.get(level.sku, 0) + max(0, level.available)
    left = dict(available)
    shorts: list[Short] = []
    for line in lines:
        sku, quantity = str(line["sku"]), int(line["quantity"])
        held = min(quantity, left.get(sku, 0))
        left[sku] = left.get(sku, 0) - held
        if held < quantity:
            shorts.append(
                Short(
                    line_id=str(line["line_id"]),
                    sku=sku,
                    name=str(line.get("name") or sku),
                    variant=line.get("variant"),
                    quantity=quantity - held,
                    held=held,
                )
            )
    there = {sku: available[sku] - left[sku] for sku in available if available[sku] > left[sku]}
    allocations, _ = allocate(there, levels) if there else ([], [])
    return allocations, shorts


def told(lines: Iterable[Short], restock: Mapping[str, date]) -> tuple[BackorderLine, ...]:
    """The lines as the events tell them: units still short and units held now."""
    return tuple(
        BackorderLine(
            line_id=x.line_id,
            sku=x.sku,
            name=x.name,
            variant=x.variant,
            quantity=x.missing,
            held=x.held + x.filled,
            restock_expected=restock.get(x.sku),
        )
        for x in lines
        if x.missing > 0
    )


def latest_restock(lines: Iterable[Short], restock: Mapping[str, date]) -> date | None:
    """When every short SKU is expected back: the latest of their dates; None when one
    of them has no date."""
    dates = [restock.get(x.sku) for x in lines if x.missing > 0]
    if not dates or any(d is None for d in dates):
        return None
    return max(d for d in dates if d is not None)


def restock_moved(
    backorders: Iterable[Backorder],
    sku: str,
    before: Mapping[str, date],
    after: Mapping[str, date],
) -> list[tuple[str, BackorderRestockDateChanged]]:
    """The orders to tell when the date `sku` is expected back goes from `before` to
    `after` (the dates of every SKU the backorders are short of): those still short of
    `sku` whose latest date (`latest_restock`) moved, each with what it is told."""
    moved = []
    for b in backorders:
        if b.state not in QUEUED or not any(x.sku == sku and x.missing > 0 for x in b.lines):
            continue
        latest = latest_restock(b.lines, after)
        if latest == latest_restock(b.lines, before):
            continue
        told_now = BackorderRestockDateChanged(lines=told(b.lines, after), restock_expected=latest)
        moved.append((b.order_id, told_now))
    return moved


def serve(backorder: Backorder, levels: Sequence[StockLevel]) -> tuple[Backorder, list[Allocation]]:
    """What the stock in `levels` gives this backorder: every unit it is short of that is
    available (each SKU placed as `allocate` places an order's), and the backorder with
    those units counted on its lines, in line order."""
    available: dict[str, int] = {}
    for level in levels:
        available[level.sku] = available.get(level.sku, 0) + max(0, level.available)
    take = {
        sku: min(n, available.get(sku, 0))
        for sku, n in backorder.missing().items()
        if available.get(sku, 0) > 0
    }
    if not take:
        return backorder, []
    allocations, _ = allocate(take, levels)
    left = dict(take)
    lines = []
    for line in backorder.lines:
        got = min(line.missing, left.get(line.sku, 0))
        if got:
            left[line.sku] -= got
            line = replace(line, filled=line.filled + got)
        lines.append(line)
    return replace(backorder, lines=tuple(lines)), allocations


def after(levels: Sequence[StockLevel], allocations: Sequence[Allocation]) -> list[StockLevel]:
    """The levels once `allocations` are held."""
    taken: dict[tuple[str, str], int] = {}
    for a in allocations:
        taken[(a.sku, a.warehouse)] = taken.get((a.sku, a.warehouse), 0) + a.quantity
    return [
        replace(lv, reserved=lv.reserved + taken.get((lv.sku, lv.warehouse), 0)) for lv in levels
    ]


def brought(backorder: Backorder) -> tuple[LineQuantity, ...]:
    """The units restocks brought a filled backorder (BackorderFilled's lines)."""
    return tuple(
        LineQuantity(line_id=x.line_id, sku=x.sku, quantity=x.filled)
        for x in backorder.lines
        if x.filled > 0
    )


def shipping_lines(
    lines: Sequence[Mapping[str, Any]], backorder: Backorder
) -> list[dict[str, Any]]:
    """The order's lines as they ship once the short units are dropped: each short line
    with the units held (its discount cut to their share, rounded down, as returns refunds
    the dropped units the rest), a line with none held left out."""
    short = {x.line_id: x for x in backorder.lines}
    out = []
    for line in lines:
        x = short.get(str(line["line_id"]))
        if x is None or x.missing == 0:
            out.append(dict(line))
            continue
        whole, keep = int(line["quantity"]), int(line["quantity"]) - x.missing
        if keep <= 0:
            continue
        kept = {**line, "quantity": keep}
        discount = line.get("discount")
        if discount:
            kept["discount"] = {**discount, "amount": int(discount["amount"]) * keep // whole}
        out.append(kept)
    return out
