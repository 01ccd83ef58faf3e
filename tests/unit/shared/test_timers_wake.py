"""Which timer notifications wake the sleeping poller: only one due before it would wake."""

from __future__ import annotations

from shared.timer_poller import TimerPoller


def poller(next_due: float | None) -> TimerPoller:
    p = TimerPoller(pool=None, handlers={}, units=None)  # type: ignore[arg-type]
    p.next_due = next_due
    return p


def test_a_timer_due_before_the_next_one_wakes_the_poller() -> None:
    assert poller(1_000.0)._sooner("999.5")


def test_a_timer_due_after_the_next_one_lets_it_sleep() -> None:
    assert not poller(1_000.0)._sooner("1000.0")
    assert not poller(1_000.0)._sooner("86400000")


def test_with_no_timer_pending_any_timer_wakes_it() -> None:
    assert poller(None)._sooner("1e12")


def test_a_notification_it_cannot_read_wakes_it() -> None:
    assert poller(1_000.0)._sooner("")


def test_it_remembers_the_earliest_due_time_it_heard_while_it_looked() -> None:
    p = poller(1_000.0)
    for payload in ("2000", "1500", "3000"):
        p._sooner(payload)
    assert p._heard == 1_500.0
