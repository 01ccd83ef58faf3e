"""The delay_announced message: why in the customer's words, the courier by its name, and
whether the new date is the day the parcel leaves the warehouse or the day it arrives."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

import pytest

from services.notify import content, domain, samples
from services.notify.domain import QuietHours, zone
from services.notify.templates import Templates
from shared.contracts.events.logistics import ShipmentDelayAnnounced

Cause = Literal["peak", "courier_problem", "weather", "other"]
Stage = Literal["waiting", "on_its_way"]
TEMPLATES = Templates()


def announced(cause: Cause = "peak", stage: Stage = "waiting") -> ShipmentDelayAnnounced:
    return ShipmentDelayAnnounced(
        delay_id="dly_1",
        cause=cause,
        shipment_id="shp_1",
        courier="zto",
        stage=stage,
        previous_date=date(2026, 11, 14),
        new_expected_date=date(2026, 11, 17),
    )


def render(event: ShipmentDelayAnnounced, locale: str = "en", channel: str = "sms") -> str:
    placed = samples.placed(locale)
    values = content.context(
        "delay_announced", samples.ORDER_ID, placed, event, shop_name="Shop", tz=zone("UTC", "UTC")
    )
    rendered = TEMPLATES.render("delay_announced", locale, channel, values)
    return f"{rendered.subject or ''}\n{rendered.text}"


def test_a_parcel_still_in_the_warehouse_is_told_the_day_it_leaves() -> None:
    text = render(announced("peak", "waiting"), channel="email")
    assert "leaves our warehouse on 17 Nov 2026" in text.splitlines()[0], "the subject"
    assert "leave our warehouse on 17 Nov 2026 instead of 14 Nov 2026" in text
    assert "go with ZTO Express" in text and "sales peak" in text
    assert "arrive" not in text
    assert "改为2026年11月17日发货" in render(announced("peak", "waiting"), "zh-CN")
    assert "改為2026年11月17日出貨" in render(announced("peak", "waiting"), "zh-TW")


def test_a_parcel_on_its_way_is_told_the_day_it_arrives() -> None:
    text = render(announced("weather", "on_its_way"), channel="email")
    assert "arrives on 17 Nov 2026" in text.splitlines()[0], "the subject"
    assert "on its way with ZTO Express and will now arrive on 17 Nov 2026" in text
    assert "bad weather" in text and "warehouse" not in text
    zh = render(announced("weather", "on_its_way"), "zh-CN")
    assert "预计改为2026年11月17日送达" in zh and "原定2026年11月14日" in zh


@pytest.mark.parametrize("locale", domain.LOCALES)
def test_every_cause_has_its_own_words_and_a_courier_problem_names_the_courier(
    locale: str,
) -> None:
    causes: tuple[Cause, ...] = ("peak", "courier_problem", "weather", "other")
    said = {cause: render(announced(cause), locale) for cause in causes}
    assert len(set(said.values())) == len(causes)
    names = {"en": "ZTO Express", "zh-CN": "中通快递", "zh-TW": "中通快遞"}
    assert names[locale] in said["courier_problem"]
    for stage in ("waiting", "on_its_way"):
        for cause in causes:
            sms = render(announced(cause, stage), locale).strip()
            without_link = sms.replace(samples.placed(locale).order_url, "")
            assert len(without_link) <= 200, (locale, cause, stage)


def test_it_is_transactional_and_waits_for_the_morning_as_shipment_delayed_does() -> None:
    for template in ("delay_announced", "shipment_delayed"):
        assert template not in domain.NON_ESSENTIAL and template not in domain.URGENT
    night = datetime(2026, 11, 11, 23, 30, tzinfo=UTC)
    quiet = QuietHours(start=datetime(2026, 1, 1, 22).time(), end=datetime(2026, 1, 1, 8).time())
    morning = datetime(2026, 11, 12, 8, 0, tzinfo=UTC)
    assert domain.send_after("delay_announced", night, zone("UTC", "UTC"), quiet) == morning
