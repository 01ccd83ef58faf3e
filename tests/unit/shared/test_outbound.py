"""Reading what an outside party says about when to ask again."""

from __future__ import annotations

import email.utils
import time

from shared.outbound import retry_after


def test_retry_after_is_seconds_or_a_date() -> None:
    assert retry_after("2") == 2.0
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= (retry_after(in_a_minute) or 0) <= 60
    assert retry_after("soon") is None and retry_after(None) is None


def test_a_date_in_the_past_means_at_once() -> None:
    assert retry_after(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0.0
    assert retry_after("-3") == 0.0
