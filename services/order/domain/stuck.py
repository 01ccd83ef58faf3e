"""When an order is stuck: it stayed in one stage longer than the stage allows. Pure.

Each stage has a clock that starts at an *anchor*, a moment the order's own state gives:

- `awaiting_payment_request`: placed, and payment never asked for the money; the clock
  starts when it was placed.
- `not_shipped`: paid (or, cash on delivery, placed) and not shipped, or shipped in part
  with a parcel logistics listed still in the warehouse; the clock starts at the promise:
  the end of the promised ship date in the order's time zone. Not while the order's
  backorder is open or waiting: it ships once the backorder is dropped or filled.
- `silent_in_transit`: shipped, and the carrier has said nothing of a parcel on its way
  since that parcel's last tracking step (or its shipping): the longest silence counts.
  A parcel delivered, or turned back (a prepaid parcel refused at the door; a
  cash-on-delivery one ends the order `refused`), is no longer on its way.
- `refund_unanswered`: a refund request neither approved nor rejected since it was made.

`anchors` gives each stage's anchor (None when the stage does not apply); the repository
stores them with the order, so the periodic check finds the stuck orders of a stage with
one indexed query, and `stuck_in` says the same of one order in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple, get_args
from zoneinfo import ZoneInfo

from services.order.domain import backorder, parcels
from services.order.domain.order import Order, Stage
from shared.contracts.events.order import StuckStage

STAGES: tuple[StuckStage, ...] = get_args(StuckStage)


@dataclass(frozen=True)
class Thresholds:
    """Seconds an order may stay in each stage (for `not_shipped`, past its promise)."""

    awaiting_payment_request: float = 300.0
    not_shipped: float = 21_600.0
    silent_in_transit: float = 172_800.0
    refund_unanswered: float = 172_800.0

    def of(self, stage: StuckStage) -> float:
        seconds: float = getattr(self, stage)
        return seconds


class Anchors(NamedTuple):  # made on every save: a tuple is the cheapest to build
    awaiting_payment_request: datetime | None
    not_shipped: datetime | None
    silent_in_transit: datetime | None
    refund_unanswered: datetime | None

    def of(self, stage: StuckStage) -> datetime | None:
        anchor: datetime | None = getattr(self, stage)
        return anchor


@dataclass(frozen=True)
class Stuck:
    stage: StuckStage
    since: datetime  # when the order entered the stage
    due_at: datetime  # when it became stuck there


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=1024)
def promise_deadline(promised: date, time_zone: str) -> datetime:
    """The end of the promised ship date where the customer is."""
    return datetime.combine(promised + timedelta(days=1), time(), _zone(time_zone))


def awaits_shipping(order: Order) -> bool:
    """Nothing shipped yet, or a listed parcel still waits while the others left. An order
    whose backorder is open or waiting is not expected to ship yet."""
    if backorder.holds_shipping(order):
        return False
    if order.stage is Stage.SHIPPED:
        return parcels.waiting(order)
    return order.stage is Stage.PAID or (order.stage is Stage.PLACED and order.cash_on_delivery)


def anchors(order: Order) -> Anchors:
    awaiting = None
    if order.stage is Stage.PLACED and not order.payment:
        awaiting = order.placed_at
    ship_by = None
    if awaits_shipping(order) and order.promised_ship_date is not None:
        ship_by = promise_deadline(order.promised_ship_date, order.time_zone)
    silent = parcels.silent_since(order) if order.stage is Stage.SHIPPED else None
    waiting = None
    if order.refunds:
        requested = [
            datetime.fromisoformat(r["updated_at"])
            for r in order.refunds.values()
            if r.get("status") == "requested" and r.get("updated_at")
        ]
        waiting = min(requested, default=None)
    return Anchors(awaiting, ship_by, silent, waiting)


def since(order: Order, stage: StuckStage, anchor: datetime) -> datetime:
    """When the order entered `stage`: the anchor, except for `not_shipped`, whose anchor is
    the promise and which the order entered when it was paid (placed, cash on delivery)."""
    if stage == "not_shipped":
        return order.paid_at or order.placed_at
    return anchor


def stuck_in(order: Order, now: datetime, thresholds: Thresholds) -> list[Stuck]:
    """The stages `order` is stuck in at `now`."""
    found = []
    marks = anchors(order)
    for stage in STAGES:
        anchor = marks.of(stage)
        if anchor is None:
            continue
        due_at = anchor + timedelta(seconds=thresholds.of(stage))
        if due_at <= now:
            found.append(Stuck(stage, since(order, stage, anchor), due_at))
    return found


def allowed_seconds(since: datetime, due_at: datetime) -> int:
    """How long the order could stay in the stage, in whole seconds: its threshold as the
    event tells it."""
    return max(round((due_at - since).total_seconds()), 0)


def describe(stage: StuckStage, anchor: datetime) -> str:
    """What the person on call reads about a stuck order: ids and times only."""
    at = anchor.isoformat(timespec="seconds")
    if stage == "awaiting_payment_request":
        return f"placed at {at}; payment was never requested"
    if stage == "not_shipped":
        return f"promised to ship before {at}; not shipped"
    if stage == "silent_in_transit":
        return f"in transit; no tracking news since {at}"
    return f"refund requested at {at}; neither approved nor rejected"
