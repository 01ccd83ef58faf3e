"""The backorder_restock_changed message: the goods awaited, the new date they are expected
or that it is no longer known, that the order still ships whole, first come, first served,
in words that fit a customer who has not chosen yet as well as one who waits."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.notify import content, domain, handlers, samples
from services.notify.domain import QuietHours, zone
from services.notify.templates import Templates
from shared.contracts.events.logistics import BackorderLine, BackorderRestockDateChanged

TEMPLATES = Templates()
NEW_DATE = date(2026, 12, 9)


def changed(expected: date | None) -> BackorderRestockDateChanged:
    line = BackorderLine(
        line_id="l1", sku="MUG", name="Tea mug", variant="Blue", quantity=2, held=1,
        restock_expected=expected,
    )  # fmt: skip
    return BackorderRestockDateChanged(lines=(line,), restock_expected=expected)


def render(event: BackorderRestockDateChanged, locale: str, channel: str) -> str:
    placed = samples.placed(locale)
    values = content.context(
        "backorder_restock_changed", samples.ORDER_ID, placed, event, shop_name="Shop",
        tz=zone("UTC", "UTC"),
    )  # fmt: skip
    rendered = TEMPLATES.render("backorder_restock_changed", locale, channel, values)
    return f"{rendered.subject or ''}\n{rendered.text}"


SAID = {  # the new date, no date known, ships whole, first come first served
    "en": ("9 Dec 2026", "no longer", "ships complete", "first come, first served"),
    "zh-CN": ("2026年12月9日", "暂无法确定", "整单发", "按下单先后顺序"),
    "zh-TW": ("2026年12月9日", "目前無法確定", "整筆", "依下單先後順序"),
}
EMAIL_ORDER = {  # the email says first come, first served in words of its own
    "en": "in the order they were placed",
    "zh-CN": "按下单先后顺序",
    "zh-TW": "依下單先後順序",
}


@pytest.mark.parametrize("locale", domain.LOCALES)
def test_it_tells_the_new_date_or_that_it_is_not_known_and_that_the_order_ships_whole(
    locale: str,
) -> None:
    new_date, unknown, whole, queue = SAID[locale]
    for channel in domain.CHANNELS:
        dated, undated = (
            render(changed(NEW_DATE), locale, channel),
            render(changed(None), locale, channel),
        )
        assert new_date in dated and unknown not in dated, channel
        assert unknown in undated and new_date not in undated, channel
        assert whole in dated and whole in undated, channel
        assert (queue if channel == "sms" else EMAIL_ORDER[locale]) in dated, channel
    email = render(changed(NEW_DATE), locale, "email")
    assert "Tea mug" in email and "Blue" in email, "the goods awaited"
    for text in (email, render(changed(NEW_DATE), locale, "sms")):
        assert not any(w in text for w in ("you chose", "您的选择", "您的選擇")), "neutral"


@pytest.mark.parametrize("locale", domain.LOCALES)
def test_the_sms_is_one_short_line_with_or_without_a_date(locale: str) -> None:
    for expected in (NEW_DATE, None):
        sms = render(changed(expected), locale, "sms").strip()
        assert "\n" not in sms
        assert len(sms.replace(samples.placed(locale).order_url, "")) <= 200, (locale, expected)


def test_it_is_transactional_not_urgent_and_told_once_per_event() -> None:
    template = "backorder_restock_changed"
    assert template not in domain.NON_ESSENTIAL and template not in domain.URGENT
    night = datetime(2026, 11, 11, 23, 30, tzinfo=UTC)
    quiet = QuietHours(start=datetime(2026, 1, 1, 22).time(), end=datetime(2026, 1, 1, 8).time())
    morning = datetime(2026, 11, 12, 8, 0, tzinfo=UTC)
    assert domain.send_after(template, night, zone("UTC", "UTC"), quiet) == morning
    assert BackorderRestockDateChanged in handlers.HANDLERS
