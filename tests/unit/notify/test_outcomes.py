"""What each event does to an order, decided before anything is saved (domain.Outcome)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.notify import domain, samples
from services.notify.domain import NextReminder, OrderRecord, OrderState, Outcome, ReminderSchedule

PLACED_AT = samples.PLACED_AT
SCHEDULE = ReminderSchedule([3600], before_close_seconds=0, min_gap_seconds=600, max_count=2)


def an_order(due_in: timedelta | None = timedelta(days=1)) -> OrderRecord:
    placed = samples.placed("en")
    due = None if due_in is None else PLACED_AT + due_in
    return OrderRecord(
        order_id=samples.ORDER_ID,
        placed=placed.model_copy(update={"payment_due_at": due}),
        placed_at=PLACED_AT,
        state=OrderState.AWAITING_PAYMENT,
        variant="A",
        reminders=0,
    )


def test_a_new_order_is_confirmed_and_its_first_reminder_planned() -> None:
    outcome = domain.placed(an_order(), SCHEDULE, PLACED_AT)
    first = NextReminder(number=1, at=PLACED_AT + timedelta(hours=1))
    assert outcome == Outcome(tell="order_confirmation", next_reminder=first)
    assert domain.placed(an_order(due_in=None), SCHEDULE, PLACED_AT).next_reminder is None


def test_the_next_reminder_counts_what_went_and_stops_at_the_cap() -> None:
    later = PLACED_AT + timedelta(hours=2)
    assert SCHEDULE.next_for(an_order(), 0, later) == NextReminder(1, later)
    assert SCHEDULE.next_for(an_order(), 1, later) is None


def test_payment_closing_cancelling_and_refusing_stop_the_reminders_and_say_why() -> None:
    paid_at = datetime(2026, 11, 11, 3, 0, tzinfo=UTC)
    assert domain.paid(paid_at) == Outcome(
        tell="payment_received", state=OrderState.PAID, paid_at=paid_at, stop_reminders=True
    )
    closed = domain.ended(OrderState.CLOSED, "order_closed")
    assert closed == Outcome(tell="order_closed", state=OrderState.CLOSED, stop_reminders=True)
    assert domain.cancelled("stock_shortage").tell == "stock_shortage_apology"
    assert domain.cancelled("customer_request") == Outcome(
        tell="order_cancelled", state=OrderState.CANCELLED, stop_reminders=True
    )
    assert domain.refused(OrderState.AWAITING_PAYMENT) == Outcome(
        tell="delivery_refused", state=OrderState.REFUSED, stop_reminders=True
    )
    assert domain.refused(OrderState.REFUSED) == Outcome(), "told once"


def test_a_failed_payment_is_told_only_while_the_order_is_unpaid() -> None:
    assert domain.payment_failed(OrderState.AWAITING_PAYMENT) == domain.told("payment_failed")
    assert domain.payment_failed(replace(an_order(), state=OrderState.PAID).state) == Outcome()
