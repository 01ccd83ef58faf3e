"""Parcels: how an order's reserved goods leave the warehouses.

Goods held in one warehouse leave together; goods held in several leave as one parcel
from each (allocation takes the fewest warehouses it can, `domain.stock.allocate`). A
cash-on-delivery order is the exception: it travels as one parcel, from the warehouse that
holds most of it, since the customer inspects it and pays for it whole at the door and the
courier collects once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.logistics.domain.stock import Allocation, Fulfilment
from shared.contracts.events.common import LineQuantity, PaymentMethod
from shared.contracts.events.logistics import PlannedParcel


@dataclass(frozen=True)
class Plan:
    """One parcel to open: where it leaves from, the reserved rows it takes (by SKU and
    warehouse) and its goods, as the order's lines with this parcel's quantities (and a
    split line's share of its discount)."""

    warehouse: str
    rows: tuple[tuple[str, str], ...]
    lines: tuple[dict[str, Any], ...]


def plan(order: Fulfilment, held: Sequence[Allocation]) -> list[Plan]:
    """The parcels of a reserved order, in the order they are numbered: the warehouse with
    the most units first (then by name). One parcel when every unit is in one warehouse,
    or for cash on delivery; each line's units go to the parcels in that order."""
    units: dict[str, int] = {}
    for a in held:
        units[a.warehouse] = units.get(a.warehouse, 0) + a.quantity
    warehouses = sorted(units, key=lambda w: (-units[w], w))
    if not warehouses:
        raise ValueError(f"order {order.order_id} holds no units to ship")
    if order.payment_method == PaymentMethod.CASH_ON_DELIVERY or len(warehouses) == 1:
        rows = tuple((a.sku, a.warehouse) for a in held)
        return [Plan(warehouses[0], rows, tuple(dict(line) for line in order.lines))]
    # what each warehouse still has to give of each SKU, taken by the lines in order
    left = {(a.sku, a.warehouse): a.quantity for a in held}
    goods: dict[str, list[dict[str, Any]]] = {w: [] for w in warehouses}
    for line in order.lines:
        wanted = int(line["quantity"])
        parts = []
        for warehouse in warehouses:
            take = min(wanted, left.get((line["sku"], warehouse), 0))
            if take:
                parts.append((warehouse, take))
                left[(line["sku"], warehouse)] -= take
                wanted -= take
        if wanted:
            raise ValueError(f"line {line['line_id']} of {order.order_id} is not all held")
        for (warehouse, quantity), share in zip(parts, _shares(line, parts), strict=True):
            goods[warehouse].append({**line, "quantity": quantity, **share})
    return [
        Plan(w, tuple((a.sku, a.warehouse) for a in held if a.warehouse == w), tuple(goods[w]))
        for w in warehouses
    ]


def _shares(line: dict[str, Any], parts: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    """What each part of a line split over parcels carries of the line's discount: its
    quantity's share rounded down, the last part the rest, so the parts add up to the fen.
    Nothing to carry for a line without a discount."""
    discount = line.get("discount")
    if not discount or len(parts) == 1:
        return [{} for _ in parts]
    total, whole = int(discount["amount"]), int(line["quantity"])
    amounts = [total * quantity // whole for _, quantity in parts[:-1]]
    amounts.append(total - sum(amounts))
    return [{"discount": {**discount, "amount": amount}} for amount in amounts]


def announced(shipment_ids: Sequence[str], plans: Sequence[Plan]) -> tuple[PlannedParcel, ...]:
    """The parcels as ShippingPromiseSet tells them."""
    return tuple(
        PlannedParcel(
            shipment_id=shipment_id,
            warehouse=p.warehouse,
            lines=tuple(
                LineQuantity(line_id=x["line_id"], sku=x["sku"], quantity=int(x["quantity"]))
                for x in p.lines
            ),
        )
        for shipment_id, p in zip(shipment_ids, plans, strict=True)
    )
