"""What the logistics rule tests share."""

from __future__ import annotations

from datetime import datetime

from services.logistics.domain import shipments
from services.logistics.domain.parcels import Plan
from services.logistics.domain.shipping import Outcome, Substitution, Timing
from services.logistics.domain.stock import Fulfilment


def open_whole(
    order: Fulfilment,
    shipment_id: str,
    courier: str,
    paid_at: datetime,
    now: datetime,
    timing: Timing,
    substituted: Substitution | None = None,
) -> Outcome:
    """An order opened as one parcel, all its goods held in one warehouse."""
    whole = Plan("main", (), tuple(order.lines))
    [outcome] = shipments.opened(
        order, [(shipment_id, whole)], courier, paid_at, now, timing, substituted
    )
    return outcome
