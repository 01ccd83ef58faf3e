"""The shipping promise: cut-off, working days, holidays, and the dates after a delay."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.logistics.domain.shipping import ShippingCalendar
from services.logistics.settings import LogisticsSettings

SHANGHAI = ZoneInfo("Asia/Shanghai")
GOLDEN_WEEK = frozenset(date(2026, 10, d) for d in range(1, 8))
CALENDAR = ShippingCalendar(SHANGHAI, time(14, 0), frozenset({1, 2, 3, 4, 5}), GOLDEN_WEEK)


def shop_time(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("paid", "promised"),
    [
        (shop_time("2026-11-11", "09:30"), date(2026, 11, 11)),  # Wednesday morning: same day
        (shop_time("2026-11-11", "13:59"), date(2026, 11, 11)),
        (shop_time("2026-11-11", "14:00"), date(2026, 11, 12)),  # at the cut-off: next day
        (shop_time("2026-11-13", "15:00"), date(2026, 11, 16)),  # Friday afternoon: Monday
        (shop_time("2026-11-14", "10:00"), date(2026, 11, 16)),  # Saturday: Monday
        (shop_time("2026-09-30", "16:00"), date(2026, 10, 8)),  # before the golden week
        (shop_time("2026-10-03", "09:00"), date(2026, 10, 8)),  # a holiday morning
    ],
)
def test_the_promised_ship_date_follows_cutoff_weekends_and_holidays(
    paid: datetime, promised: date
) -> None:
    assert CALENDAR.promised_ship_date(paid) == promised


def test_the_cutoff_is_judged_in_shop_time_not_utc() -> None:
    # 05:30 UTC is 13:30 in Shanghai (before the cut-off); 06:30 UTC is 14:30 (after).
    assert CALENDAR.promised_ship_date(datetime(2026, 11, 11, 5, 30, tzinfo=UTC)) == date(
        2026, 11, 11
    )
    assert CALENDAR.promised_ship_date(datetime(2026, 11, 11, 6, 30, tzinfo=UTC)) == date(
        2026, 11, 12
    )


def test_a_configured_cutoff_and_saturday_working_day_move_the_promise() -> None:
    calendar = ShippingCalendar(SHANGHAI, time(18, 0), frozenset({1, 2, 3, 4, 5, 6}))
    assert calendar.promised_ship_date(shop_time("2026-11-11", "17:00")) == date(2026, 11, 11)
    assert calendar.promised_ship_date(shop_time("2026-11-13", "19:00")) == date(2026, 11, 14)


def test_an_order_is_late_at_the_promised_days_cutoff() -> None:
    deadline = CALENDAR.ship_by(date(2026, 11, 11))
    assert deadline == shop_time("2026-11-11", "14:00")
    assert deadline.astimezone(UTC) == datetime(2026, 11, 11, 6, 0, tzinfo=UTC)


def test_a_missed_date_moves_to_the_next_working_day_after_today() -> None:
    # Promised Friday, noticed Friday: Monday. Noticed only on Tuesday: Wednesday.
    assert CALENDAR.later_date(date(2026, 11, 13), shop_time("2026-11-13", "14:00")) == date(
        2026, 11, 16
    )
    assert CALENDAR.later_date(date(2026, 11, 13), shop_time("2026-11-17", "09:00")) == date(
        2026, 11, 18
    )
    assert CALENDAR.add_working_days(date(2026, 9, 30), 2) == date(2026, 10, 9)


def test_settings_build_the_calendar_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGISTICS_CUTOFF", "16:30")
    monkeypatch.setenv("LOGISTICS_HOLIDAYS", '["2026-11-11"]')
    monkeypatch.setenv("LOGISTICS_WORKING_DAYS", "[1, 2, 3, 4, 5, 6]")
    calendar = LogisticsSettings().calendar
    assert calendar.promised_ship_date(shop_time("2026-11-11", "09:00")) == date(2026, 11, 12)
    assert calendar.promised_ship_date(shop_time("2026-11-12", "16:00")) == date(2026, 11, 12)
    assert calendar.promised_ship_date(shop_time("2026-11-13", "17:00")) == date(2026, 11, 14)


def test_settings_refuse_an_unknown_time_zone_and_empty_working_days() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        LogisticsSettings(shop_time_zone="Mars/Olympus")
    with pytest.raises(ValueError, match="working days"):
        LogisticsSettings(working_days=[])
