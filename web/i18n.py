"""The page's own words in the three languages the shop serves (zh-CN, zh-TW, en).

The order's sentences (timeline, checkpoints, courier names) come from the APIs in the
language asked for; these are only the page's labels, buttons and the refund rules. Their
wording lives in the shared gettext catalogues, web domain (`shared/locale/web/<lang>.po`,
English msgids); below each key the page uses is marked with its msgid.
"""

from __future__ import annotations

from shared import i18n

LANGUAGES = i18n.LANGUAGES
DEFAULT = "en"
NAMES = {"zh-CN": "简体中文", "zh-TW": "繁體中文", "en": "English"}


def N_(message: str) -> str:
    """Marks a catalogue msgid; the translation is looked up when the page is written."""
    return message


WORDS: dict[str, str] = {
    "title": N_("Order {order}"),
    "language": N_("Language"),
    "status": N_("Status"),
    "timeline": N_("Timeline"),
    "items": N_("Items"),
    "quantity": N_("Qty"),
    "total": N_("Total"),
    "goods": N_("Goods"),
    "discount": N_("Discount"),
    "shipping_fee": N_("Shipping"),
    "chosen_courier": N_("by {courier}, as you chose (+{fee})"),
    "paid": N_("Paid"),
    "refunded": N_("Refunded"),
    "due": N_("To pay"),
    "promised": N_("Ships by"),
    "new_date": N_("Now expected by"),
    "parcel": N_("Parcel"),
    "parcel_of": N_("Parcel {number} of {of}"),
    "parcel_goods": N_("In this parcel"),
    "parcel_waiting": N_("Still in our warehouse"),
    "parcel_turned_back": N_("Not delivered, going back to the shop"),
    "courier": N_("Courier"),
    "tracking_number": N_("Tracking number"),
    "track": N_("Track on the courier's site"),
    "checkpoints": N_("Checkpoints"),
    "no_checkpoints": N_("No checkpoints yet"),
    "address": N_("Delivery address"),
    "refunds": N_("Refund requests"),
    "no_refunds": N_("No refund requests"),
    "actions": N_("What you can do"),
    "pay": N_("Pay now"),
    "pay_method": N_("Payment method"),
    "cancel": N_("Cancel the order"),
    "cancel_hint": N_("You can cancel until the parcel ships; what you paid is refunded."),
    "confirm": N_("Confirm receipt"),
    "refund": N_("Request a refund or return"),
    "reason": N_("Reason"),
    "send": N_("Send"),
    "unsubscribe": N_("Stop non-essential messages"),
    "unsubscribe_hint": N_("You will still be told about payment, shipping and refunds."),
    "rules": N_("How refunds work"),
    "flow_unshipped": N_("Not shipped yet: refunded at once, and the parcel is not sent."),
    "flow_no_return": N_(
        "Shipped but never arrived (lost, not received): refunded without a return."
    ),
    "flow_return": N_(
        "Received: send the goods back with a return tracking number; the refund is paid "
        "when they arrive. Within 7 days of delivery you may return for any reason (you pay "
        "the postage); a quality problem qualifies at any time (we pay it)."
    ),
    "reason_changed_mind": N_("I changed my mind"),
    "reason_not_received": N_("It never arrived"),
    "reason_lost": N_("The parcel was lost"),
    "reason_damaged": N_("It arrived damaged"),
    "reason_wrong_item": N_("Wrong item"),
    "reason_quality_problem": N_("Quality problem"),
    "reason_price_dropped": N_("The price dropped"),
    "done_cancel": N_("Your order is cancelled."),
    "done_confirm": N_("Receipt confirmed, thank you!"),
    "done_refund": N_("Your refund request is sent."),
    "backorder": N_("Some items are out of stock"),
    "backorder_line": N_("{name}: {quantity} missing, {held} held for you"),
    "backorder_choose_by": N_("Choose by {deadline}"),
    "backorder_default": N_("Without an answer: {choice}"),
    "backorder_restock": N_("Restock expected on {date}"),
    "backorder_ship_available": N_("Ship what is in stock now"),
    "backorder_wait": N_("Wait for the rest"),
    "backorder_ship_hint": N_("The missing items are refunded once you have paid."),
    "backorder_chosen_ship_available": N_(
        "You chose to receive what is in stock now; the missing items are refunded."
    ),
    "backorder_chosen_wait": N_("You chose to wait for the missing items; the order ships whole."),
    "backorder_by_default": N_("No choice was made in time, so the default applied."),
    "backorder_waiting": N_("Waiting for the restock"),
    "backorder_dropped": N_("What is in stock ships; the missing items are refunded"),
    "backorder_filled": N_("Everything is in; your order ships whole"),
    "done_backorder": N_("Your choice is recorded."),
    "done_unsubscribe": N_("You will get no more non-essential messages."),
    "refused": N_("That did not go through: {detail}"),
    "expired_form": N_("This page had expired; please try again."),
    "not_found": N_("We cannot find this order"),
    "bad_link": N_("This link does not open this order. Please use the link in your message."),
    "unavailable": N_("We cannot show your order right now; please try again shortly."),
    "home": N_("Open the link in your order's messages to see your order."),
}

STATUSES: dict[str, str] = {
    "placed": N_("Waiting for payment"),
    "paid": N_("Paid, being prepared"),
    "shipped": N_("Shipped"),
    "delivered": N_("Delivered"),
    "completed": N_("Completed"),
    "cancellation_requested": N_("Being cancelled"),
    "cancelled": N_("Cancelled"),
    "closed": N_("Closed"),
    "refused": N_("Not delivered, returned to the shop"),
    "refund_open": N_("Refund in progress"),
}

REFUND_STATUSES: dict[str, str] = {
    "requested": N_("Requested, being reviewed"),
    "return_shipped": N_("Return on its way"),
    "approved": N_("Approved, being refunded"),
    "refunded": N_("Refunded"),
    "rejected": N_("Declined"),
    "refund_failed": N_("Refund delayed, retrying"),
}

MSGIDS: tuple[str, ...] = (*WORDS.values(), *STATUSES.values(), *REFUND_STATUSES.values())


def language(asked: str | None, accept_language: str | None, order_locale: str | None) -> str:
    """The page's language: `?lang=` when it is one of ours, else the order's, else the
    browser's best of ours, else English."""
    if asked in LANGUAGES:
        return asked
    if order_locale in LANGUAGES:
        return order_locale
    return i18n.from_accept_language(accept_language) or DEFAULT


def _said(lang: str, msgid: str) -> str:
    return i18n.gettext_for(lang if lang in LANGUAGES else DEFAULT, msgid, i18n.WEB)


def text(lang: str, key: str, **values: object) -> str:
    msgid = WORDS.get(key)
    if msgid is None:  # a reason code the page has no words for is left unsaid
        return "" if key.startswith("reason_") else key
    return _said(lang, msgid).format(**values)


def refund_status(lang: str, code: str) -> str:
    msgid = REFUND_STATUSES.get(code)
    return _said(lang, msgid) if msgid else code.replace("_", " ")


def status(lang: str, code: str) -> str:
    msgid = STATUSES.get(code)
    return _said(lang, msgid) if msgid else code.replace("_", " ")
