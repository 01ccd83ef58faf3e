"""The packing slip that goes into the parcel: the items, their quantities and variants
(the parcel's own, and which of the order's parcels it is when there are several), the
gift message, the delivery address and the return instructions, in the order's
language (zh-CN, zh-TW or en; English for an order placed before logistics kept it).
Everything from the order is escaped (Jinja2 autoescape)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
)

# the slip's words by language, the return instructions among them
WORDS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).parent / "templates" / "packing_slip.json").read_text(encoding="utf-8")
)


def _address_lines(address: dict[str, Any] | None) -> list[str]:
    a = address or {}
    place = " ".join(str(a[k]) for k in ("postal_code", "city", "region") if a.get(k))
    lines = [a.get("recipient"), a.get("line1"), a.get("line2"), place, a.get("country")]
    return [str(x) for x in lines if x]


def render(slip: dict[str, Any]) -> str:
    """The slip's HTML from what logistics keeps of the shipment and its order."""
    lang = slip.get("locale") if slip.get("locale") in WORDS else "en"
    return _ENV.get_template("packing_slip.html.j2").render(
        lang=lang,
        t=WORDS[str(lang)],
        order_id=slip["order_id"],
        shipment_id=slip["shipment_id"],
        courier=slip["courier"],
        address=_address_lines(slip.get("address")),
        lines=list(slip.get("lines") or []),
        gift_message=slip.get("gift_message"),
        parcel_number=slip.get("parcel_number") or 1,
        parcel_count=slip.get("parcel_count") or 1,
    )
