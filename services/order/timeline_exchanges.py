"""The sentences of an exchange's timeline entries (domain.exchanges), in the customer's
language: msgids of the shared catalogue (`shared/locale/*.po`), as in timeline.py, which
writes them (`describe`) with the units named (`{items}`, `{replacement}`) and the
money in the language's way.

An accepted exchange says what is set aside and what to send back, then who pays the
return postage, the difference (to pay, with a payment link to follow, or refunded once
the return is received) and when the replacement leaves. A refusal says why by its reason
and that a refund can be asked instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.order.domain import exchanges as ex


def N_(message: str) -> str:
    """Marks a catalogue msgid (see timeline.N_)."""
    return message


KINDS = ex.KINDS

SENTENCES: dict[str, str] = {
    ex.REQUESTED: N_("You asked to exchange {items} for another variant ({replacement_sku})."),
    ex.ACCEPTED: N_(
        "Exchange accepted: {replacement} is set aside for you. Please send back {items}."
    ),
    ex.REFUSED: N_("The exchange cannot be made."),
    ex.PAID: N_("The difference of {money} for your exchange is paid."),
    ex.RETURN_RECEIVED: N_("The items you sent back for your exchange have arrived."),
    ex.SHIPPED: N_(
        "Your exchange item {replacement} has shipped with {courier}, tracking number "
        "{tracking_number}."
    ),
    ex.DELIVERED: N_(
        "Your exchange item was delivered by {courier}, tracking number {tracking_number}."
    ),
    ex.CANCELLED: N_("The exchange is cancelled; your item is not exchanged."),
}
# A refusal by its reason (ExchangeRefused.reason); any other reads as SENTENCES' own.
REFUSALS: dict[str, str] = {
    "unknown_sku": N_(
        "The exchange cannot be made: the variant asked for is not in our catalogue."
    ),
    "not_same_product": N_(
        "The exchange cannot be made: the variant asked for is another product, and an "
        "exchange is for another variant of the same product."
    ),
    "out_of_stock": N_("The exchange cannot be made: the variant asked for is out of stock."),
}
REFUND_INSTEAD = N_("Nothing changes on your order; you may ask for a refund instead.")
CANCELLATIONS: dict[str, str] = {
    "unpaid": N_(
        "The exchange is cancelled: the difference was not paid in time. Your item is not "
        "exchanged and nothing is charged."
    ),
    "not_returned": N_(
        "The exchange is cancelled: the items were not sent back in time. Your item is not "
        "exchanged; a difference you paid is refunded."
    ),
}
# After an accepted exchange's first sentence: the return postage, the difference, and
# when the replacement leaves.
POSTAGE: dict[str, str] = {
    "customer": N_("The return postage is yours."),
    "shop": N_("The return postage is on us."),
}
SETTLEMENTS: dict[str, str] = {
    "charge": N_("You pay the difference of {money}; a payment link follows."),
    "refund": N_("The difference of {money} is refunded once your return is received."),
}
LEAVES: dict[tuple[str, bool], str] = {  # (ships, a difference to pay first)
    ("at_once", False): N_("The replacement ships right away."),
    ("at_once", True): N_("The replacement ships once the difference is paid."),
    ("on_return", False): N_("The replacement ships once your return is received."),
    ("on_return", True): N_(
        "The replacement ships once the difference is paid and your return is received."
    ),
}

MSGIDS: tuple[str, ...] = (
    *SENTENCES.values(),
    *REFUSALS.values(),
    REFUND_INSTEAD,
    *CANCELLATIONS.values(),
    *POSTAGE.values(),
    *SETTLEMENTS.values(),
    *LEAVES.values(),
)


def sentence(kind: str, details: dict[str, Any]) -> str | None:
    """The msgid of an exchange entry's first sentence."""
    reason = str(details.get("reason"))
    if kind == ex.REFUSED and reason in REFUSALS:
        return REFUSALS[reason]
    if kind == ex.CANCELLED and reason in CANCELLATIONS:
        return CANCELLATIONS[reason]
    return SENTENCES.get(kind)


def more(
    kind: str, details: dict[str, Any], values: dict[str, Any], _: Callable[[str], str]
) -> list[str]:
    """The sentences that follow the first, written with `_` (the language's gettext)."""
    if kind == ex.REFUSED:
        return [_(REFUND_INSTEAD)]
    if kind != ex.ACCEPTED:
        return []
    said = []
    if (postage := POSTAGE.get(str(details.get("return_shipping_paid_by")))) is not None:
        said.append(_(postage))
    settlement = str(details.get("settlement"))
    if settlement in SETTLEMENTS and "money" in values:
        said.append(_(SETTLEMENTS[settlement]).format(money=values["money"]))
    leaves = LEAVES.get((str(details.get("ships")), settlement == "charge"))
    if leaves is not None:
        said.append(_(leaves))
    return said
