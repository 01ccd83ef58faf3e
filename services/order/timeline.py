"""Customer-readable sentences for timeline entries, in the customer's language.

Entries are stored as a kind and its details; the sentence is written when the
order is read, so wording (and language) can change without touching stored
history. The English sentences below are the msgids of the shared catalogue
(`shared/locale/*.po`); each language's wording comes from there, money is written
the way the language writes it and couriers are named as its customers know them.
"""

from __future__ import annotations

from typing import Any

from services.order import timeline_exchanges as exchanges
from shared import i18n
from shared.contracts import couriers


def N_(message: str) -> str:
    """Marks a catalogue msgid; the translation is looked up when a sentence is written."""
    return message


SENTENCES: dict[str, str] = {
    "placed": N_("Order placed."),
    "payment_requested": N_("Waiting for your payment."),
    "payment_failed": N_("Payment did not go through: {message}"),
    "paid": N_("Buyer has paid {money}."),
    "late_payment": N_("A payment of {money} arrived after the order ended; it will be refunded."),
    "stock_reserved": N_("Your items are reserved; they will ship by {promised_ship_date}."),
    "ship_promised": N_("Your order will ship by {promised_ship_date}."),
    "cancellation_requested": N_("You cancelled the order; your refund is on its way."),
    "cancelled": N_("Order cancelled ({reason_text})."),
    "closed": N_("Order closed: payment was not received in time."),
    "shipped": N_(
        "Seller has shipped your order with {courier}, tracking number {tracking_number}."
    ),
    "checkpoint": N_("{city}: {description}"),
    "out_for_delivery": N_("Out for delivery in {city}."),
    "delivered": N_("Delivered in {city}."),
    "delayed": N_("Sorry, your order is delayed; it is now expected by {new_expected_date}."),
    "shipment_cancelled": N_("The shipment was stopped."),
    "refund_requested": N_("Refund of {money} requested."),
    "refund_converted": N_(
        "Your parcel had already left: once it comes back to us (refuse it at the door "
        "or send it back), your refund of {money} is paid."
    ),
    "refund_approved": N_("Refund of {money} approved."),
    "refund_rejected": N_("Refund request declined: {reason}"),
    "return_shipped": N_("Return sent with {courier}, tracking number {tracking_number}."),
    "return_received": N_("Your returned items have arrived."),
    "refund_paid": N_("Refund of {money} paid. We hope to serve you again."),
    "refund_failed": N_("Your refund is delayed; we are trying again."),
    "completed": N_("Order completed. Thank you for shopping with us!"),
    "returned_to_shop": N_("The parcel is back with the shop."),
    "picked": N_("Your items have been picked in the warehouse."),
    "packed": N_("Your parcel is packed and waits for the courier."),
    "backordered": N_(
        "Some items are out of stock: {items}. What is in stock is held for you. Choose by "
        "{deadline} whether to ship it now or to wait for the rest; without an answer, we "
        "will {default_text}."
    ),
    "backorder_waiting": N_("Your order waits for {items}; it ships whole once they are in."),
    "backorder_dropped": N_(
        "{items} will not be sent: what is in stock ships, and the missing items are refunded."
    ),
    "backorder_filled": N_("Everything is in stock now; your order will ship whole soon."),
}

# A backorder (items short at placement): the customer's answer, the default the deadline
# applies (said after "we will"), the restock date when known, and an answer the default
# gave, each by the choice.
BACKORDER_CHOICES: dict[str, str] = {
    "ship_available": N_(
        "You chose to receive what is in stock now; the missing items will be refunded."
    ),
    "wait": N_("You chose to wait for the missing items; your order ships whole once they are in."),
}
BACKORDER_DEFAULTS: dict[str, str] = {
    "ship_available": N_("ship what is in stock"),
    "wait": N_("wait for the rest and ship everything together"),
}
RESTOCK = N_("The restock is expected on {restock_expected}.")
# A new restock date (`backorder_restock_changed`), by whether a date is known now.
RESTOCK_CHANGED: dict[bool, str] = {
    True: N_("The restock of {items} is now expected on {restock_expected}."),
    False: N_("The restock date of {items} is not known any more; we will tell you when it is."),
}
BY_DEFAULT = N_("No choice was made in time, so the default applied.")
BACKORDER_KINDS = (
    "backordered", "backorder_waiting", "backorder_dropped", "backorder_filled",
    "backorder_restock_changed",
)  # fmt: skip

# A checkpoint whose machine status says more than the courier's own words.
CHECKPOINTS: dict[str, str] = {
    "arrived_in_city": N_("Your parcel has arrived in {city}."),
    "failed_attempt": N_(
        "{city}: the courier could not deliver your parcel ({description}); it will try again."
    ),
}

# A parcel that goes back to the shop, by why: the order ends (`refused`, cash on delivery,
# nothing charged) or, paid in advance, the goods are refunded when the parcel is back.
REFUSALS: dict[tuple[str, str], str] = {
    ("refused", "refused"): N_(
        "The parcel was refused at the door and is going back to the shop. Nothing is "
        "charged and the order is closed."
    ),
    ("refused", "undeliverable"): N_(
        "The courier could not deliver the parcel after several attempts; it is going back "
        "to the shop. Nothing is charged and the order is closed."
    ),
    ("parcel_refused", "refused"): N_(
        "The parcel was refused at the door and is going back to the shop. Your payment "
        "for the goods is refunded once it is back with the shop."
    ),
    ("parcel_refused", "undeliverable"): N_(
        "The courier could not deliver the parcel after several attempts; it is going back "
        "to the shop. Your payment for the goods is refunded once it is back with the shop."
    ),
}

# A delay operations announced (`delay_announced`), by where the parcel is: still in the
# warehouse, the new date is the day it leaves; on its way, the day it arrives.
DELAYS: dict[str, str] = {
    "waiting": N_(
        "Sorry, because of {cause_text}, your order now leaves our warehouse on "
        "{new_expected_date} instead of {previous_date}."
    ),
    "on_its_way": N_(
        "Sorry, because of {cause_text}, your parcel now arrives on {new_expected_date} "
        "instead of {previous_date}."
    ),
}

# An order that ships as several parcels: an entry about one of them says which (the
# `parcel` of its details, {"number": 1, "of": 2}); shipping and delivery in their own
# words, any other step after the parcel's number.
PARCEL_SENTENCES: dict[str, str] = {
    "shipped": N_(
        "Seller has shipped parcel {number} of {of} with {courier}, tracking number "
        "{tracking_number}."
    ),
    "delivered": N_("Parcel {number} of {of} delivered in {city}."),
}
PARCEL = N_("Parcel {number} of {of}: {sentence}")

TRACK = N_("Follow it on the courier's site: {tracking_url}")

REASONS = {
    "customer_request": N_("at your request"),
    "stock_shortage": N_("sorry, some items ran out of stock"),
    "payment_failed": N_("the payment could not be completed"),
    "payment_window_expired": N_("payment was not received in time"),
}

# Why operations announced a delay, said after "because of"; `{courier}` is its name.
CAUSES = {
    "peak": N_("the rush of orders in this sales peak"),
    "courier_problem": N_("a problem at {courier}"),
    "weather": N_("bad weather"),
    "other": N_("an unexpected problem"),
}

MSGIDS: tuple[str, ...] = (
    *SENTENCES.values(),
    *CHECKPOINTS.values(),
    *REFUSALS.values(),
    *DELAYS.values(),
    *PARCEL_SENTENCES.values(),
    *BACKORDER_CHOICES.values(),
    *BACKORDER_DEFAULTS.values(),
    RESTOCK,
    *RESTOCK_CHANGED.values(),
    BY_DEFAULT,
    PARCEL,
    TRACK,
    *REASONS.values(),
    *CAUSES.values(),
    *exchanges.MSGIDS,
)


def money_text(amount: int, currency: str, locale: str = couriers.DEFAULT_LOCALE) -> str:
    return i18n.money(amount, currency, locale)


def parcel(details: dict[str, Any], locale: str) -> dict[str, Any]:
    """An entry's details with the courier's name in `locale` and its tracking page, when the
    entry names a courier by its code; the code stays for machines."""
    code, number = details.get("courier"), details.get("tracking_number")
    if not isinstance(code, str):
        return details
    url = couriers.tracking_url(code, number) if isinstance(number, str) else None
    return {**details, "courier_name": couriers.courier_name(code, locale), "tracking_url": url}


def _one_of_several(details: dict[str, Any]) -> dict[str, int] | None:
    """The parcel's number when the entry is about one parcel of several, else None."""
    number = details.get("parcel")
    if isinstance(number, dict) and int(number.get("of") or 1) > 1:
        return {"number": int(number["number"]), "of": int(number["of"])}
    return None


def _sentence(kind: str, details: dict[str, Any]) -> str | None:
    if kind in exchanges.KINDS:
        return exchanges.sentence(kind, details)
    if _one_of_several(details) is not None and kind in PARCEL_SENTENCES:
        return PARCEL_SENTENCES[kind]
    if kind == "checkpoint" and str(details.get("status")) in CHECKPOINTS:
        return CHECKPOINTS[str(details["status"])]
    if kind == "delay_announced" and str(details.get("stage")) in DELAYS:
        return DELAYS[str(details["stage"])]
    if kind == "backorder_restock_changed":
        return RESTOCK_CHANGED[bool(details.get("restock_expected"))]
    if kind == "backorder_chosen":
        return BACKORDER_CHOICES.get(str(details.get("choice")))
    if (kind, str(details.get("reason"))) in REFUSALS:
        return REFUSALS[(kind, str(details["reason"]))]
    return SENTENCES.get(kind)


def _items(lines: Any, locale: str) -> str:
    """The short items of a backorder, each its name, variant and units short."""
    said = []
    for line in lines if isinstance(lines, list) else []:
        variant = f" ({line['variant']})" if line.get("variant") else ""
        said.append(f"{line.get('name', line.get('sku', ''))}{variant} \u00d7 {line['quantity']}")
    return ("、" if locale.startswith("zh") else ", ").join(said)


def _backorder(kind: str, details: dict[str, Any], sentence: str, locale: str) -> str:
    """A backorder entry's sentence with the restock date when known, and the word that no
    answer came in time when the default chose."""
    _ = i18n.translations(locale).gettext
    if kind in ("backordered", "backorder_waiting") and details.get("restock_expected"):
        sentence += " " + _(RESTOCK).format(restock_expected=details["restock_expected"])
    if details.get("chosen_by") == "default":
        sentence += " " + _(BY_DEFAULT)
    return sentence


def describe(kind: str, details: dict[str, Any], locale: str = couriers.DEFAULT_LOCALE) -> str:
    """The entry as one sentence in `locale` (zh-CN, zh-TW or en)."""
    _ = i18n.translations(locale).gettext
    details = parcel(details, locale)
    values = {key: value for key, value in details.items() if value is not None}
    number = _one_of_several(details)
    values |= number or {}
    if "courier_name" in values:
        values["courier"] = values["courier_name"]
    if "amount" in details and "currency" in details:
        values["money"] = money_text(details["amount"], details["currency"], locale)
    reason = str(details.get("reason"))
    values["reason_text"] = _(REASONS[reason]) if reason in REASONS else reason
    cause = str(details.get("cause"))
    if cause in CAUSES:
        values["cause_text"] = _(CAUSES[cause]).format(courier=values.get("courier", ""))
    if kind in BACKORDER_KINDS or kind in exchanges.KINDS:
        values["items"] = _items(details.get("lines"), locale)
    if isinstance(replacement := details.get("replacement"), dict):
        values["replacement"] = _items([replacement], locale)
    if kind in BACKORDER_KINDS:
        default = str(details.get("default_choice"))
        if default in BACKORDER_DEFAULTS:
            values["default_text"] = _(BACKORDER_DEFAULTS[default])
    fallback = kind.replace("_", " ").capitalize()
    msgid = _sentence(kind, details)
    try:
        sentence = _(msgid).format(**values) if msgid is not None else fallback
    except (KeyError, ValueError, IndexError):
        return fallback + "."
    if kind in BACKORDER_KINDS:
        sentence = _backorder(kind, details, sentence, locale)
    if kind in exchanges.KINDS:
        sentence = " ".join([sentence, *exchanges.more(kind, details, values, _)])
    if "tracking_url" in values:
        sentence += " " + _(TRACK).format(tracking_url=values["tracking_url"])
    if number is not None and kind not in PARCEL_SENTENCES:
        sentence = _(PARCEL).format(sentence=sentence, **number)
    return sentence
