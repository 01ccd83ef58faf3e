"""Capped exponential backoff: how long a retrying loop waits after a failed attempt.

The consumer, the timer poller and the effects worker all wait this way, each with its
own first wait and cap.
"""

from __future__ import annotations

from datetime import timedelta


def capped_backoff(attempts: int, first_seconds: float, max_seconds: float) -> timedelta:
    """The wait after `attempts` failed attempts: `first_seconds` after the first, twice as
    long after each next one, never more than `max_seconds`."""
    return timedelta(seconds=min(max_seconds, first_seconds * 2 ** max(0, attempts - 1)))
