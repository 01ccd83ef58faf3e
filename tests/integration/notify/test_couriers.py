"""The shipped message names the courier as the customer knows it and links its tracking page."""

from __future__ import annotations

import re

from deploy.local.sinks import Sinks
from tests.integration.notify.support import notify, order_placed, received, shipped
from tests.support.events import new_order_id, send_all
from tests.support.infra import Infra

NAMES = {"zh-CN": "顺丰速运", "zh-TW": "順豐速運", "en": "SF Express"}


async def test_the_shipped_message_names_the_courier_in_each_language_with_its_tracking_link(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    orders = {locale: new_order_id() for locale in NAMES}
    placed = {locale: order_placed(order_id, locale=locale) for locale, order_id in orders.items()}
    async with notify(infra, database, sinks):
        for locale, order_id in orders.items():
            parcel = shipped(placed[locale], order_id, "sf", f"SF{order_id[-8:]}")
            await send_all(infra, order_id, placed[locale], parcel)
        for locale, order_id in orders.items():
            got = await received(sinks, placed[locale].contact, 4)  # confirmation and shipped
            link = f"https://www.sf-express.com/chn/sc/waybill/waybill-detail/SF{order_id[-8:]}"
            shipped_messages = [m for m in got if link in m["text"]]
            assert {m["channel"] for m in shipped_messages} == {"email", "sms"}, locale
            for message in shipped_messages:
                assert NAMES[locale] in message["text"], (locale, message["channel"])
                without_link = message["text"].replace(link, "")
                assert not re.search(r"\bsf\b", without_link), "never the courier's code"
                if message["channel"] == "email":
                    assert f'<a href="{link}">' in message["html"]
