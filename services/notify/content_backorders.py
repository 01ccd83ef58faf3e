"""What the backorder messages say: the items short, the deadline to choose and what
happens without an answer, the date they are expected back (and a new one when it moves),
and the outcome."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from services.notify.formats import day, moment
from shared.contracts.events import logistics
from shared.contracts.events.order import OrderPlaced


def _short(lines: Sequence[logistics.BackorderLine]) -> list[dict[str, Any]]:
    """Each line short: its name and variant, the units short and the units held."""
    return [
        {"name": x.name, "variant": x.variant, "quantity": x.quantity, "held": x.held}
        for x in lines
    ]


def _backordered(
    e: logistics.StockBackordered, _p: OrderPlaced, tz: ZoneInfo, loc: str
) -> dict[str, Any]:
    return {
        "short_items": _short(e.lines),
        "choose_by": moment(e.choose_by, tz, loc),
        "default_wait": e.default_choice == "wait",
        "restock_expected": day(e.restock_expected, loc) if e.restock_expected else None,
    }


def _dropped(
    e: logistics.BackorderDropped, _p: OrderPlaced, _tz: ZoneInfo, _loc: str
) -> dict[str, Any]:
    return {"short_items": _short(e.dropped), "by_default": e.chosen_by == "default"}


def _waiting(
    e: logistics.BackorderWaiting, _p: OrderPlaced, _tz: ZoneInfo, loc: str
) -> dict[str, Any]:
    return {
        "short_items": _short(e.lines),
        "restock_expected": day(e.restock_expected, loc) if e.restock_expected else None,
        "by_default": e.chosen_by == "default",
    }


def _restock_changed(
    e: logistics.BackorderRestockDateChanged, _p: OrderPlaced, _tz: ZoneInfo, loc: str
) -> dict[str, Any]:
    return {
        "short_items": _short(e.lines),
        "restock_expected": day(e.restock_expected, loc) if e.restock_expected else None,
    }


def _filled(
    e: logistics.BackorderFilled, _p: OrderPlaced, tz: ZoneInfo, loc: str
) -> dict[str, Any]:
    return {"filled_at": moment(e.filled_at, tz, loc)}


EXTRAS: dict[str, Callable[[Any, OrderPlaced, ZoneInfo, str], dict[str, Any]]] = {
    "stock_backordered": _backordered,
    "backorder_dropped": _dropped,
    "backorder_waiting": _waiting,
    "backorder_filled": _filled,
    "backorder_restock_changed": _restock_changed,
}
