"""What the order page shows, from what the APIs answered: pure, no I/O.

Which actions the order allows follows its status as the order API reports it; the
services still decide (a refused action comes back as the API's problem, shown as is).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.contracts.couriers import courier_name
from web import i18n

ACTIONS = ("pay", "cancel", "confirm", "refund", "unsubscribe", "backorder")
CHOICES = ("ship_available", "wait")
REASONS = (
    "changed_mind",
    "not_received",
    "lost",
    "damaged",
    "wrong_item",
    "quality_problem",
    "price_dropped",
)
_CANCELLABLE = frozenset({"placed", "paid"})
_RECEIVABLE = frozenset({"shipped", "delivered"})
_REFUNDABLE = frozenset({"paid", "shipped", "delivered", "completed", "refund_open"})
_PAYABLE = frozenset({"pending", "failed"})
_DECIMALS = {"JPY": 0}


def money(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    currency = str(value.get("currency", ""))
    decimals = _DECIMALS.get(currency, 2)
    amount = int(value.get("amount", 0)) / 10**decimals
    symbol = {"CNY": "¥", "TWD": "NT$", "USD": "$", "HKD": "HK$"}.get(currency)
    shown = f"{amount:,.{decimals}f}"
    return f"{symbol}{shown}" if symbol else f"{currency} {shown}"


def masked_address(address: dict[str, Any]) -> list[str]:
    """The address as the customer recognises it, with what a shoulder-surfer or a shared
    screen should not read masked: the name but its first character, the phone but its
    last four digits, the street line but its first few characters."""
    recipient = str(address.get("recipient") or "")
    phone = str(address.get("phone") or "")
    line1 = str(address.get("line1") or "")
    lines = [f"{recipient[:1]}{'*' * max(len(recipient) - 1, 1)}"] if recipient else []
    if phone:
        lines.append(f"{'*' * max(len(phone) - 4, 3)}{phone[-4:]}")
    place = [address.get("region"), address.get("city")]
    lines.append(" ".join(str(p) for p in place if p))
    keep = max(2, len(line1) // 3)
    lines.append(f"{line1[:keep]}{'*' * max(len(line1) - keep, 3)}")
    if address.get("postal_code"):
        lines.append(f"{address['postal_code']} {address.get('country', '')}".strip())
    return [line for line in lines if line]


def moment(value: str | None) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


# The timeline's delays: found by tracking (`delayed`) or announced by operations.
_DELAYS = frozenset({"delayed", "delay_announced"})


def new_date(timeline: list[dict[str, Any]]) -> str | None:
    """The date the order is now expected by, after the last delay (if any)."""
    dates = [
        e.get("details", {}).get("new_expected_date") for e in timeline if e["kind"] in _DELAYS
    ]
    found = [d for d in dates if d]
    return str(found[-1]) if found else None


def allowed(order: dict[str, Any]) -> set[str]:
    status = order.get("status", "")
    payment = order.get("payment") or {}
    can = {"unsubscribe"}
    if (
        status == "placed"
        and payment.get("method") != "cash_on_delivery"
        and payment.get("status") in _PAYABLE
    ):
        can.add("pay")
    if status in _CANCELLABLE:
        can.add("cancel")
    if status in _RECEIVABLE:
        can.add("confirm")
    paid = (order.get("totals") or {}).get("paid", {}).get("amount", 0)
    if status in _REFUNDABLE and paid:
        can.add("refund")
    held = order.get("backorder") or {}
    if status in _CANCELLABLE and held.get("state") == "open" and not held.get("choice"):
        can.add("backorder")
    return can


def view(order: dict[str, Any], requests: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    totals = order.get("totals") or {}
    shipment = order.get("shipment") or {}
    payment = order.get("payment") or {}
    timeline = order.get("timeline") or []
    currency = (totals.get("total") or {}).get("currency", "")
    return {
        "order": order,
        "order_id": order["order_id"],
        "status": i18n.status(lang, order.get("status", "")),
        "status_code": order.get("status", ""),
        "items": [
            {**line, "total": money({"amount": line["line_total"], "currency": currency})}
            for line in order.get("items", [])
        ],
        "goods": money(totals.get("goods")) if totals.get("goods") else None,
        "discount": _some(totals.get("discount")),
        "shipping_fee": _some(totals.get("shipping_fee")),
        "chosen_courier": _chosen(totals, lang),
        "total": money(totals.get("total")),
        "paid": money(totals.get("paid")),
        "refunded": money(totals.get("refunded"))
        if (totals.get("refunded") or {}).get("amount")
        else None,
        "due": money(totals.get("due")) if (totals.get("due") or {}).get("amount") else None,
        "promised": order.get("promised_ship_date"),
        "new_date": new_date(timeline),
        "timeline": [{**e, "when": moment(e.get("at"))} for e in reversed(timeline)],
        "shipment": shipment or None,
        "checkpoints": _checkpoints(shipment),
        "parcels": parcels(order, lang),
        "address": masked_address(order.get("delivery_address") or {}),
        "refund_requests": [{**r, "amount_text": money(r.get("amount"))} for r in requests],
        "refunds": order.get("refunds", []),
        "payment": payment,
        "pay_url": payment.get("checkout_url") or payment.get("pay_link"),
        "can": allowed(order),
        "backorder": backorder(order, lang),
    }


def backorder(order: dict[str, Any], lang: str) -> dict[str, Any] | None:
    """The items short at placement: each line's units missing and held, the deadline (where
    the customer is) and its default, the restock date, and the answer once there is one;
    None when everything was in stock."""
    found = order.get("backorder")
    if not found:
        return None
    deadline = ""
    if found.get("choose_by"):
        at = datetime.fromisoformat(str(found["choose_by"]))
        zone = str(order.get("time_zone") or "UTC")
        deadline = at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
    default, choice = found.get("default_choice"), found.get("choice")
    state = str(found.get("state") or "")
    return {
        "state": state,
        "lines": [
            i18n.text(
                lang,
                "backorder_line",
                name=f"{line['name']} · {line['variant']}" if line.get("variant") else line["name"],
                quantity=line["quantity"],
                held=line["held"],
            )
            for line in found.get("lines") or []
        ],
        "deadline": deadline,
        "default": i18n.text(lang, f"backorder_{default}") if default in CHOICES else None,
        "restock": found.get("restock_expected"),
        "answer": i18n.text(lang, f"backorder_chosen_{choice}") if choice in CHOICES else None,
        "by_default": found.get("chosen_by") == "default",
        "outcome": i18n.text(lang, f"backorder_{state}") if state != "open" else None,
    }


def _checkpoints(parcel: dict[str, Any]) -> list[dict[str, Any]]:
    """A parcel's tracking steps, the latest first, each with its time as the page shows it."""
    return [{**c, "when": moment(c.get("at"))} for c in reversed(parcel.get("checkpoints", []))]


# What the page says of where a parcel is (the order API's parcel `status`).
_PARCEL_STATES = {
    "waiting": "parcel_waiting",
    "refused": "parcel_turned_back",
    "returned": "parcel_turned_back",
}


def parcels(order: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Each parcel of an order that ships as several, with its goods, courier, tracking
    number and steps; none for an order of one parcel, whose page shows it as it always
    did (`shipment`)."""
    found = order.get("parcels") or []
    if len(found) < 2:
        return []
    shown = []
    for parcel in found:
        state = str(parcel.get("status") or "")
        words = _PARCEL_STATES.get(state)
        where = i18n.text(lang, words) if words else i18n.status(lang, state)
        shown.append({**parcel, "where": where, "checkpoints": _checkpoints(parcel)})
    return shown


def _some(value: dict[str, Any] | None) -> str | None:
    """A part of the total worth a line: one that is not zero."""
    return money(value) if value and value.get("amount") else None


def _chosen(totals: dict[str, Any], lang: str) -> dict[str, str] | None:
    """The courier the customer chose at checkout and its surcharge, in the page's words."""
    code, fee = totals.get("courier"), totals.get("courier_fee")
    if not code or not fee:
        return None
    return {"courier": courier_name(str(code), lang), "fee": money(fee)}
