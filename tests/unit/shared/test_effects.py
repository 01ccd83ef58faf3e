"""The shared rule for calls with an effect: keys a retry derives again, capped backoff, and
MACs compared as bytes."""

from __future__ import annotations

import pytest

from shared.effects import EffectError, Policy, derived_id
from shared.signing import SignatureError, sign, verify


def test_an_id_derived_from_the_same_cause_is_the_same_and_from_another_differs() -> None:
    first = derived_id("rfd", "approval", "rr_1")
    assert first == derived_id("rfd", "approval", "rr_1")
    assert first.startswith("rfd_") and len(first) == 24
    assert first != derived_id("rfd", "approval", "rr_2")
    assert first != derived_id("rfd", "automatic", "rr_1")


def test_retries_back_off_exponentially_up_to_the_cap() -> None:
    policy = Policy(backoff_seconds=1.0, backoff_max_seconds=5.0)
    assert [policy.backoff(n).total_seconds() for n in range(1, 6)] == [1, 2, 4, 5, 5]


def test_a_signature_with_non_ascii_characters_is_refused_not_raised() -> None:
    body = b"{}"
    header = sign("whsec", body, timestamp=1_000) + "é"
    with pytest.raises(SignatureError, match="does not match"):
        verify("whsec", header, body, now=1_000)


def test_a_retry_waits_at_least_as_long_as_the_other_side_asked() -> None:
    policy = Policy(backoff_seconds=1.0, backoff_max_seconds=5.0)
    asked = EffectError("rate_limited", retry_after=30.0)
    assert policy.backoff(1, asked).total_seconds() == 30.0
    assert policy.backoff(3, EffectError("rate_limited", retry_after=0.5)).total_seconds() == 4.0
    assert policy.backoff(2, EffectError("provider_unavailable")).total_seconds() == 2.0
