"""The notify rules: who gets what on which channel, quiet hours, reminder plans, variants."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.notify import content, domain
from services.notify.domain import OrderState, Preferences, QuietHours, ReminderSchedule
from shared.contracts.envelope import Money
from shared.contracts.events.common import Address, Contact

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUIET = QuietHours(time(22, 0), time(8, 0))
BOTH = Contact(email="a@example.com", phone="+8613800138000")


def at_shanghai(hour: int, minute: int = 0, day: int = 11) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_channels_follow_the_contact_details_and_the_preferences() -> None:
    assert domain.channels_for("shipped", BOTH, Preferences()) == ["email", "sms"]
    assert domain.channels_for("shipped", Contact(phone="+86138"), Preferences()) == ["sms"]
    assert domain.channels_for("shipped", BOTH, Preferences(sms=False)) == ["email"]


def test_an_opted_out_customer_gets_no_reminder_but_still_every_transactional_message() -> None:
    opted_out = Preferences(marketing_opt_out=True)
    assert domain.channels_for("payment_reminder", BOTH, opted_out) == []
    for template in set(domain.TEMPLATES) - domain.NON_ESSENTIAL:
        assert domain.channels_for(template, BOTH, opted_out) == ["email", "sms"]


def test_quiet_hours_hold_non_urgent_messages_until_the_morning_in_the_order_time_zone() -> None:
    night = at_shanghai(23, 30)
    assert domain.send_after("shipped", night, SHANGHAI, QUIET) == at_shanghai(8, 0, day=12)
    assert domain.send_after("shipped", at_shanghai(3), SHANGHAI, QUIET) == at_shanghai(8)
    assert domain.send_after("shipped", at_shanghai(12), SHANGHAI, QUIET) == at_shanghai(12)
    # urgent: the customer just acted, or the parcel was handed over
    assert domain.send_after("payment_received", night, SHANGHAI, QUIET) == night
    assert domain.send_after("delivered", night, SHANGHAI, QUIET) == night
    # the parcel's other steps wait for the morning like everything else
    for step in ("arrived_in_city", "out_for_delivery", "delivery_failed"):
        assert domain.send_after(step, night, SHANGHAI, QUIET) == at_shanghai(8, 0, day=12)


def test_each_parcel_step_is_told_once_and_never_after_a_later_one() -> None:
    assert domain.checkpoint("arrived_in_city", set()).tell == "arrived_in_city"
    assert domain.checkpoint("arrived_in_city", {"arrived_in_city"}).tell is None
    assert domain.checkpoint("arrived_in_city", {"out_for_delivery"}).tell is None  # late
    assert domain.checkpoint("out_for_delivery", {"arrived_in_city"}).tell == "out_for_delivery"
    assert domain.checkpoint("delivery_failed", {"out_for_delivery"}).tell == "delivery_failed"
    assert domain.checkpoint("out_for_delivery", {"delivered"}).tell is None  # out of order
    assert domain.checkpoint("delivery_failed", {"delivered"}).tell is None
    assert domain.checkpoint("delivered", {"delivery_failed"}).tell == "delivered"
    assert domain.checkpoint("delivered", {"delivered"}).tell is None
    assert set(domain.silenced_by("delivered")) == {
        "arrived_in_city",
        "out_for_delivery",
        "delivery_failed",
    }
    assert domain.silenced_by("arrived_in_city") == []


def test_only_the_arrived_in_city_news_can_be_opted_out_of_among_parcel_steps() -> None:
    assert "arrived_in_city" in domain.NON_ESSENTIAL
    for step in ("out_for_delivery", "delivery_failed", "delivered"):
        assert step not in domain.NON_ESSENTIAL
    assert domain.CHECKPOINT_TEMPLATES == {
        "arrived_in_city": "arrived_in_city",
        "failed_attempt": "delivery_failed",
    }


def test_the_same_instant_is_night_in_one_zone_and_day_in_another() -> None:
    instant = at_shanghai(23)
    assert domain.in_quiet_hours(instant, SHANGHAI, QUIET)
    assert not domain.in_quiet_hours(instant, ZoneInfo("Europe/London"), QUIET)


def test_a_quiet_window_within_one_day_and_an_unknown_time_zone() -> None:
    afternoon = QuietHours(time(13, 0), time(14, 0))
    assert afternoon.holds(time(13, 30)) and not afternoon.holds(time(14, 0))
    assert domain.zone("Mars/Olympus", "Asia/Shanghai") == SHANGHAI


SCHEDULE = ReminderSchedule(
    offsets_seconds=[3600, 86400], before_close_seconds=7200, min_gap_seconds=3600, max_count=3
)


def test_reminders_fall_after_one_hour_after_a_day_and_two_hours_before_closing() -> None:
    placed = at_shanghai(10)
    due = placed + timedelta(days=3)
    assert SCHEDULE.plan(placed, due) == [
        placed + timedelta(hours=1),
        placed + timedelta(days=1),
        due - timedelta(hours=2),
    ]


def test_reminders_never_fall_outside_the_window_too_close_together_or_beyond_the_cap() -> None:
    placed = at_shanghai(10)
    short = placed + timedelta(hours=2, minutes=30)  # before-close falls 30 min after placement
    assert SCHEDULE.plan(placed, short) == [placed + timedelta(minutes=30)]
    capped = ReminderSchedule([60, 120, 180, 240], 0, 0, max_count=2)
    assert len(capped.plan(placed, placed + timedelta(days=1))) == 2


def test_the_next_reminder_is_spaced_from_the_last_and_none_after_the_cap() -> None:
    placed = at_shanghai(10)
    due = placed + timedelta(days=3)
    first = placed + timedelta(hours=1)
    assert SCHEDULE.next_after(placed, due, 0, placed) == first
    assert SCHEDULE.next_after(placed, due, 1, first) == placed + timedelta(days=1)
    # an order learnt late still gets its first reminder, at once
    assert SCHEDULE.next_after(placed, due, 0, placed + timedelta(hours=5)) == placed + timedelta(
        hours=5
    )
    # a reminder that waited for the morning is not followed by another within the gap
    late = due - timedelta(hours=2, minutes=30)
    assert SCHEDULE.next_after(placed, due, 2, late) == late + timedelta(hours=1)
    assert SCHEDULE.next_after(placed, due, 2, due - timedelta(minutes=30)) is None
    assert SCHEDULE.next_after(placed, due, 3, placed) is None


def test_a_due_reminder_goes_waits_for_the_morning_or_is_dropped() -> None:
    due = at_shanghai(20, day=13)

    def decide(
        now: datetime, state: str = OrderState.AWAITING_PAYMENT, out: bool = False
    ) -> object:
        return domain.reminder_decision(
            now=now, due_at=due, state=state, opted_out=out, tz=SHANGHAI, quiet=QUIET
        )

    assert decide(at_shanghai(12)) == domain.ReminderDecision(send=True, rearm_at=None)
    assert decide(at_shanghai(23)) == domain.ReminderDecision(False, at_shanghai(8, day=12))
    assert decide(at_shanghai(12), OrderState.PAID) == domain.ReminderDecision(False, None)
    assert decide(at_shanghai(12), out=True) == domain.ReminderDecision(False, None)
    assert decide(at_shanghai(21, day=13)) == domain.ReminderDecision(False, None)
    near_close = domain.reminder_decision(
        now=at_shanghai(23, day=12),
        due_at=at_shanghai(7, day=13),
        state=OrderState.AWAITING_PAYMENT,
        opted_out=False,
        tz=SHANGHAI,
        quiet=QUIET,
    )
    assert near_close == domain.ReminderDecision(False, None), "no morning before the close"


def test_each_order_keeps_its_variant_and_variants_share_the_orders() -> None:
    assert domain.variant_for("ord_1", ["A", "B"]) == domain.variant_for("ord_1", ["A", "B"])
    spread = Counter(domain.variant_for(f"ord_{i}", ["A", "B"]) for i in range(2000))
    assert set(spread) == {"A", "B"} and min(spread.values()) > 900


def test_system_refund_requests_and_failures_after_payment_are_not_told() -> None:
    assert not domain.refund_request_is_told("system")
    assert domain.refund_request_is_told("customer")
    assert not domain.payment_failure_is_told(OrderState.PAID)
    assert domain.cancellation_template("stock_shortage") == "stock_shortage_apology"
    assert domain.cancellation_template("customer_request") == "order_cancelled"


def test_addresses_and_recipients_are_masked() -> None:
    address = Address(recipient="Li", line1="88 Century Avenue", city="Shanghai", country="CN")
    shown = domain.masked_address(address, "en")
    assert shown.startswith("88 Centu***") and shown.endswith("Shanghai")
    assert domain.mask_recipient("sms", "+8613800138000") == "**********8000"
    assert domain.mask_recipient("email", "li.wei@example.com") == "l***@example.com"


def test_money_is_printed_with_its_currency() -> None:
    assert content.money(Money(amount=19300, currency="CNY")) == "¥193.00"
    assert content.money(Money(amount=123456, currency="TWD")) == "NT$1,234.56"
    assert content.money(Money(amount=500, currency="JPY")) == "JP¥500"
