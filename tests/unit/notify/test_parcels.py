"""A parcel of several names itself in the shipped and delivered messages; a parcel of an
order that ships whole (or told before parcels were numbered) says nothing new."""

from __future__ import annotations

import pytest

from services.notify import content, domain, samples
from services.notify.templates import Templates
from shared.contracts.events import logistics as lg

TEMPLATES = Templates()
SAID = {"en": "parcel 2 of 3", "zh-CN": "第 2 个包裹，共 3 个", "zh-TW": "第 2 個包裹，共 3 個"}  # noqa: RUF001


def rendered(template: str, locale: str, parcel: lg.ParcelNumber | None) -> list[str]:
    placed = samples.placed(locale)
    event = samples.events(locale)[template]
    assert isinstance(event, lg.ShipmentShipped | lg.ShipmentDelivered)
    values = content.context(
        template,
        samples.ORDER_ID,
        placed,
        event.model_copy(update={"parcel": parcel}),
        shop_name="Fulfil Shop",
        tz=domain.zone(placed.time_zone, "UTC"),
    )
    out = []
    for channel in domain.CHANNELS:
        message = TEMPLATES.render(template, locale, channel, values)
        out += [message.subject or "", message.text]
    return out


@pytest.mark.parametrize("locale", domain.LOCALES)
@pytest.mark.parametrize("template", ["shipped", "delivered"])
def test_a_parcel_of_several_names_itself_in_every_message(template: str, locale: str) -> None:
    subject, email, _, sms = rendered(template, locale, lg.ParcelNumber(number=2, of=3))
    assert SAID[locale] in subject and SAID[locale] in email and SAID[locale] in sms


@pytest.mark.parametrize("locale", domain.LOCALES)
@pytest.mark.parametrize("template", ["shipped", "delivered"])
def test_a_parcel_of_an_order_shipping_whole_reads_as_before(template: str, locale: str) -> None:
    whole = rendered(template, locale, lg.ParcelNumber(number=1, of=1))
    assert whole == rendered(template, locale, None)
    assert not any("1 of 1" in text or "共 1 个" in text or "共 1 個" in text for text in whole)
