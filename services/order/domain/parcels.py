"""An order's parcels: which there are, where each one is, and when the order as a whole
counts as delivered. Pure.

Goods held in several warehouses leave as several parcels, each its own shipment with
its courier, tracking number and checkpoints. Logistics lists them once, when it opens
the shipments (ShippingPromiseSet.parcels: each one's warehouse and goods); an order
told of none (events from before parcels were told) is one parcel, the one its events
name. Each parcel's facts are kept under its shipment id and only ever set, never
undone, so the same fact told twice, late or out of order writes over itself.

The order is shipped when its first parcel is, and delivered once every parcel is
*settled* and at least one of them was delivered. A parcel is settled when delivered,
or turned back (refused at the door, undeliverable, or back at the shop): a parcel that
went back does not hold the delivery of the others back forever, and its goods are
refunded as for any parcel that never arrived. An order whose parcels all went back was
not delivered: it stays shipped, with nothing in transit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from services.order.domain.order import Entry, Order

Parcel = dict[str, Any]

# The timeline entries whose key names the shipment after the kind (`shipped:<id>`,
# `checkpoint:<id>:<at>:<status>`); the other parcel entries name it in their details.
_KEYED_BY_SHIPMENT = frozenset({"shipped", "checkpoint", "out_for_delivery", "delivered"})
_TURNED_BACK = ("refused", "returned_at")


def _at(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _stamp(parcel: Parcel, name: str) -> float:
    at = _at(parcel.get(name))
    return at.timestamp() if at else float("-inf")


def planned(order: Order, plan: Iterable[Parcel]) -> None:
    """Logistics' list of the order's parcels (each one's shipment, warehouse and goods):
    each is numbered in the list's order, kept with what its own events said already."""
    plan = list(plan)
    for number, parcel in enumerate(plan, 1):
        known = order.parcels.get(parcel["shipment_id"], {})
        order.parcels[parcel["shipment_id"]] = known | parcel | {"number": number, "of": len(plan)}
    order.shipment = latest(order)


def moved(order: Order, shipment_id: str, facts: Parcel, at: datetime) -> Parcel:
    """One of the parcel's facts (shipped, a checkpoint, delivered, refused ...) told at
    `at`: kept with the parcel, and the carrier's latest word on it is the later of `at`
    and what it said before (the silence in transit counts from there)."""
    parcel = order.parcels.setdefault(shipment_id, {"shipment_id": shipment_id})
    parcel.update({name: value for name, value in facts.items() if value is not None})
    last = _at(parcel.get("tracked_at"))
    if last is None or last < at:
        parcel["tracked_at"] = at.isoformat()
    order.shipment = latest(order)
    return parcel


def heard_of(parcel: Parcel) -> bool:
    """The courier has the parcel, or said something of it: it is no longer only planned."""
    return any(parcel.get(name) for name in ("shipped_at", "tracked_at", "courier"))


def settled(parcel: Parcel) -> bool:
    return bool(parcel.get("delivered_at")) or turned_back(parcel)


def turned_back(parcel: Parcel) -> bool:
    return any(parcel.get(name) for name in _TURNED_BACK)


def state(parcel: Parcel) -> str:
    """Where the parcel is, as the customer reads it."""
    if parcel.get("delivered_at"):
        return "delivered"
    if parcel.get("returned_at"):
        return "returned"
    if parcel.get("refused"):
        return "refused"
    return "shipped" if heard_of(parcel) else "waiting"


def expected(order: Order) -> int:
    """How many parcels the order ships as: as many as logistics numbered, else those its
    events named, at least one."""
    numbered = (int(p.get("of") or 0) for p in order.parcels.values())
    return max(len(order.parcels), 1, *numbered)


def all_delivered(order: Order) -> bool:
    """Every parcel the order ships as is settled, and at least one was delivered."""
    parcels = order.parcels.values()
    return (
        len(order.parcels) >= expected(order)
        and all(settled(p) for p in parcels)
        and any(p.get("delivered_at") for p in parcels)
    )


def last_delivered_at(order: Order) -> datetime | None:
    times = [t for p in order.parcels.values() if (t := _at(p.get("delivered_at")))]
    return max(times, default=None)


def in_transit(order: Order) -> list[Parcel]:
    """The parcels on their way: heard of, neither delivered nor turned back."""
    return [p for p in order.parcels.values() if heard_of(p) and not settled(p)]


def silent_since(order: Order) -> datetime | None:
    """The oldest last word among the parcels on their way: the silence that is longest."""
    words = (_at(p.get("tracked_at")) or _at(p.get("shipped_at")) for p in in_transit(order))
    return min((at for at in words if at is not None), default=None)


def waiting(order: Order) -> bool:
    """Some parcel logistics listed is still in the warehouse (not heard of, not settled)."""
    return any(not heard_of(p) and not settled(p) for p in order.parcels.values())


def latest(order: Order) -> Parcel | None:
    """The parcel `shipment` shows, for the readers that know one: the last one handed to
    the courier (before any is, the last one heard of); None while none is."""
    heard = [p for p in order.parcels.values() if heard_of(p)]
    if not heard:
        return None
    recency = max(heard, key=lambda p: (_stamp(p, "shipped_at"), _stamp(p, "tracked_at")))
    return dict(recency)


def numbered(order: Order) -> list[tuple[int, int, Parcel]]:
    """The parcels with the number and count the customer reads ("parcel 1 of 2"), in that
    order: logistics' numbers where told, else in the order they were heard of."""
    parcels = list(order.parcels.values())
    count = expected(order)
    ordered = sorted(
        parcels, key=lambda p: (int(p.get("number") or count + 1), _stamp(p, "tracked_at"))
    )
    return [(int(p.get("number") or i), count, p) for i, p in enumerate(ordered, 1)]


def shipment_of(entry: Entry) -> str | None:
    """The shipment a timeline entry is about, if it is about one: named in its details,
    or in its key after the kind."""
    named = entry.details.get("shipment_id")
    if isinstance(named, str):
        return named
    if entry.kind in _KEYED_BY_SHIPMENT and entry.key.count(":") >= 1:
        return entry.key.split(":", 2)[1]
    return None
