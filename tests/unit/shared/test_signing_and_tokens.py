"""Webhook signatures and order access tokens."""

from __future__ import annotations

import pytest

from shared.signing import SignatureError, sign, verify
from shared.tokens import order_token, token_opens


def test_a_signed_body_verifies_and_any_change_is_refused() -> None:
    body = b'{"order_id":"ord_1","outcome":"succeeded"}'
    header = sign("whsec", body, timestamp=1_800_000_000)
    assert verify("whsec", header, body, now=1_800_000_010) == 1_800_000_000
    with pytest.raises(SignatureError, match="does not match"):
        verify("whsec", header, body.replace(b"succeeded", b"failed"), now=1_800_000_010)
    with pytest.raises(SignatureError, match="does not match"):
        verify("other", header, body, now=1_800_000_010)


def test_stale_missing_and_malformed_signatures_are_refused() -> None:
    body = b"{}"
    with pytest.raises(SignatureError, match="stale"):
        verify("whsec", sign("whsec", body, timestamp=1_000), body, now=1_000 + 301)
    with pytest.raises(SignatureError, match="missing"):
        verify("whsec", None, body)
    with pytest.raises(SignatureError, match="malformed"):
        verify("whsec", "v1=abc", body)


def test_an_order_token_opens_its_order_only() -> None:
    token = order_token("secret", "ord_a")
    assert token_opens("secret", "ord_a", token)
    assert not token_opens("secret", "ord_b", token)
    assert not token_opens("other-secret", "ord_a", token)
    assert not token_opens("secret", "ord_a", None)


def test_a_non_ascii_token_is_refused_not_an_error() -> None:
    assert not token_opens("secret", "ord_a", "ключ-订单")
