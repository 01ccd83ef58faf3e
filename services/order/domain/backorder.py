"""An order placed while some of its units were out of stock: its backorder. Pure.

Logistics holds what is there and tells it (StockBackordered, state `open`); the customer
chooses, by `choose_by`, to ship what is there or to wait (`choose`: BackorderChoiceMade),
else `default_choice` applies. Logistics then tells the outcome: waiting for the restock
(`waiting`), the short units dropped (`dropped`) or, a restock in, every unit held
(`filled`); meanwhile a new restock date is shown on the card (`restock_changed`). The
order stays placed or paid throughout: a backorder is not a shortage.

The state only moves forward (open → waiting → dropped or filled, both final) and every
fact is safe to repeat and to receive out of order: a BackorderWaiting told before its
StockBackordered is not put back to `open`, and the later event only fills in what the
earlier did not say.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from services.order.domain.order import ENDED, Entry, NotAllowed, Order, Outcome
from shared.contracts.events.common import BackorderChoice
from shared.contracts.events.order import BackorderChoiceMade

State = Literal["open", "waiting", "dropped", "filled"]
RANK: dict[str, int] = {"open": 0, "waiting": 1, "dropped": 2, "filled": 2}
FINAL = frozenset({"dropped", "filled"})
ChosenBy = Literal["customer", "default"]


def _fresh() -> dict[str, Any]:
    return {
        "state": "open",
        "lines": [],
        "choose_by": None,
        "default_choice": None,
        "restock_expected": None,
        "choice": None,
        "chosen_by": None,
    }


def _moved(order: Order, to: State) -> dict[str, Any]:
    """The order's backorder (made if this is the first word of it), moved forward to `to`
    unless it already is there or further."""
    backorder = order.backorder = {**_fresh(), **(order.backorder or {})}
    if RANK[to] > RANK[backorder["state"]]:
        backorder["state"] = to
    return backorder


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def deadline_text(order: Order, choose_by: datetime) -> str:
    """The deadline where the customer is, as the timeline says it."""
    local = choose_by.astimezone(ZoneInfo(order.time_zone))
    return f"{local:%Y-%m-%d %H:%M} ({order.time_zone})"


def backordered(
    order: Order,
    lines: list[dict[str, Any]],
    choose_by: datetime,
    default_choice: BackorderChoice,
    restock_expected: date | None,
    at: datetime,
) -> Outcome:
    """Some units were short at placement; what is there is held and the customer chooses.
    Told after the outcome (out of order), it fills in the deadline and the default only."""
    if order.stage in ENDED:
        return Outcome()
    first = order.backorder is None or not order.backorder.get("lines")
    backorder = _moved(order, "open")
    backorder["choose_by"] = backorder["choose_by"] or choose_by.isoformat()
    backorder["default_choice"] = backorder["default_choice"] or default_choice
    if first:
        backorder["lines"] = [dict(line) for line in lines]
        if backorder["state"] == "filled":  # the restock was told first: all is held
            _all_held(backorder)
    if backorder["state"] == "open":
        backorder["restock_expected"] = _iso(restock_expected)
    details = {
        "lines": lines,
        "choose_by": choose_by.isoformat(),
        "deadline": deadline_text(order, choose_by),
        "default_choice": default_choice,
        "restock_expected": _iso(restock_expected),
    }
    return Outcome(entries=[Entry("backordered", at, "backordered", details)])


def waiting(
    order: Order,
    lines: list[dict[str, Any]],
    restock_expected: date | None,
    chosen_by: ChosenBy,
    at: datetime,
) -> Outcome:
    """The order waits for the restock (the customer's answer or the default)."""
    was = (order.backorder or {}).get("state")
    if order.stage in ENDED or was in FINAL:  # settled already: a late word changes nothing
        return Outcome()
    backorder = _moved(order, "waiting")
    if was in (None, "open"):
        backorder["lines"] = lines
        backorder["restock_expected"] = _iso(restock_expected)
    _answered(backorder, "wait", chosen_by)
    details = {"lines": lines, "restock_expected": _iso(restock_expected), "chosen_by": chosen_by}
    return Outcome(entries=[Entry("backorder_waiting", at, "backorder_waiting", details)])


def dropped(
    order: Order, lines: list[dict[str, Any]], chosen_by: ChosenBy, at: datetime
) -> Outcome:
    """The order ships what is there; the short units are not sent (returns refunds them)."""
    was = (order.backorder or {}).get("state")
    if order.stage in ENDED or was in FINAL:
        return Outcome()
    backorder = _moved(order, "dropped")
    backorder["lines"] = lines
    _answered(backorder, "ship_available", chosen_by)
    details = {"lines": lines, "chosen_by": chosen_by}
    return Outcome(entries=[Entry("backorder_dropped", at, "backorder_dropped", details)])


def filled(order: Order, lines: list[dict[str, Any]], filled_at: datetime) -> Outcome:
    """A restock brought the last short units: every unit is held, the order ships whole."""
    was = (order.backorder or {}).get("state")
    if order.stage in ENDED or was in FINAL:
        return Outcome()
    backorder = _moved(order, "filled")
    _all_held(backorder)
    details = {"lines": lines}
    return Outcome(entries=[Entry("backorder_filled", filled_at, "backorder_filled", details)])


def restock_changed(
    order: Order,
    lines: list[dict[str, Any]],
    restock_expected: date | None,
    at: datetime,
    fact: str,
) -> Outcome:
    """Operations moved the date the short goods are expected back (None: not known any
    more). The card shows the new date while the backorder is open or waiting; the order's
    state does not change. Each change is its own entry (`fact`: the event that told it)."""
    backorder = order.backorder
    if order.stage in ENDED or (backorder or {}).get("state") in FINAL:
        return Outcome()
    if backorder is not None:
        dates = {str(line["line_id"]): line.get("restock_expected") for line in lines}
        for line in backorder.get("lines") or []:
            if str(line.get("line_id")) in dates:
                line["restock_expected"] = dates[str(line["line_id"])]
        backorder["restock_expected"] = _iso(restock_expected)
    details = {"lines": lines, "restock_expected": _iso(restock_expected)}
    return Outcome(entries=[Entry(fact, at, "backorder_restock_changed", details)])


def _all_held(backorder: dict[str, Any]) -> None:
    """Every short unit is now held (a restock filled the order)."""
    for line in backorder["lines"]:
        line["held"] = int(line.get("held") or 0) + int(line.get("quantity") or 0)


def _answered(backorder: dict[str, Any], choice: BackorderChoice, chosen_by: ChosenBy) -> None:
    """Logistics' word on which answer it applied (the customer's or the default)."""
    backorder["choice"] = choice
    backorder["chosen_by"] = chosen_by


def choose(order: Order, choice: BackorderChoice, now: datetime) -> Outcome:
    """The customer's answer. The first one is told to logistics (BackorderChoiceMade); the
    same answer again changes and tells nothing. NotAllowed (409) with `no_backorder` when
    the order has none, `backorder_closed` once it is dropped or filled or the order ended,
    `backorder_answered` when another answer was already given."""
    backorder = order.backorder
    if backorder is None:
        raise NotAllowed(order.status, "this order has no backorder", code="no_backorder")
    if backorder.get("choice") == choice:
        return Outcome()
    if order.stage in ENDED or backorder.get("state") in FINAL:
        raise NotAllowed(
            order.status, "the backorder is settled; it takes no answer", code="backorder_closed"
        )
    if backorder.get("choice") is not None:
        raise NotAllowed(
            order.status,
            f"the backorder was already answered: {backorder['choice']}",
            code="backorder_answered",
        )
    backorder["choice"] = choice
    backorder["chosen_by"] = "customer"
    backorder["chosen_at"] = now.isoformat()
    details = {"choice": choice}
    return Outcome(
        events=[BackorderChoiceMade(choice=choice, chosen_at=now)],
        entries=[Entry("backorder_chosen", now, "backorder_chosen", details)],
    )


def holds_shipping(order: Order) -> bool:
    """Whether the backorder keeps the order from shipping: open or waiting."""
    return order.backorder is not None and order.backorder.get("state") in ("open", "waiting")
