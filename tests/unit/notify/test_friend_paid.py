"""Pay-for-me: when a friend pays through the shared link, the customer (whose contact the
order carries, not the payer's) is told that a friend paid, in every locale and channel."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from services.notify import content, domain, samples
from services.notify.templates import Templates
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import OrderPaid

FRIEND = {"zh-CN": "好友", "zh-TW": "好友", "en": "a friend paid"}
TZ = ZoneInfo("Asia/Shanghai")


def told(locale: str, method: PaymentMethod) -> dict[str, str]:
    sample = samples.events(locale)["payment_received"]
    assert isinstance(sample, OrderPaid)
    paid = sample.model_copy(update={"payment_method": method})
    placed = samples.placed(locale)
    values = content.context(
        "payment_received", "ord_7f3a9c21", placed, paid, shop_name="Fulfil Shop", tz=TZ
    )
    said = {}
    for channel in domain.CHANNELS:
        rendered = Templates().render("payment_received", locale, channel, values)
        said[channel] = f"{rendered.subject or ''}\n{rendered.text}"
    return said


@pytest.mark.parametrize("locale", domain.LOCALES)
def test_the_customer_is_told_a_friend_paid(locale: str) -> None:
    for channel, text in told(locale, PaymentMethod.PAY_FOR_ME).items():
        assert FRIEND[locale] in text.lower(), (channel, text)
        assert "ord_7f3a9c21" in text and "{%" not in text
    for channel, text in told(locale, PaymentMethod.WALLET).items():
        assert FRIEND[locale] not in text.lower(), (channel, text)
