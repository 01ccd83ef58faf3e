"""What an operator's search means: an order id, an email or a phone number, each compared
by the value the order service stores (phones as + and digits, emails lower-cased). Pure."""

from __future__ import annotations

from typing import Literal

from services.order.domain.placing import normalise_phone

SearchKind = Literal["order_id", "email", "phone"]


def search_key(query: str) -> tuple[SearchKind, str] | None:
    """(what to compare, the normalised value), or None when it is none of the three."""
    q = query.strip()
    if q.startswith("ord_"):
        return "order_id", q
    if "@" in q:
        return "email", q.lower()
    phone = normalise_phone(q if q.startswith("+") else f"+{q}")
    return ("phone", phone) if phone is not None else None
