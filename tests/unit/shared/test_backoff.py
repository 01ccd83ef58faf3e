"""The one backoff rule the consumer, the timer poller and the effects worker wait by."""

from shared.backoff import capped_backoff


def test_the_wait_doubles_from_the_first_and_stops_at_the_cap() -> None:
    waits = [capped_backoff(n, 0.2, 1.0).total_seconds() for n in range(1, 6)]
    assert waits == [0.2, 0.4, 0.8, 1.0, 1.0]


def test_no_failure_yet_waits_the_first_wait() -> None:
    assert capped_backoff(0, 0.5, 300.0).total_seconds() == 0.5
