"""Unsubscribe links: a signed token naming one contact, so a guest can opt out by clicking.

The token is `<contact>.<t>.<v1>`: the channel, locale and normalised contact
(base64url), and a signature made with shared/signing.py over them at time `t`.
Anyone holding the link may opt that one contact out and nothing else; a forged
or altered token does not verify. Links stay valid for `unsubscribe_link_days`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from services.notify import domain
from shared import signing


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Subscriber:
    channel: str
    contact: str  # normalised
    locale: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret: str, channel: str, contact: str, locale: str, at: datetime) -> str:
    body = f"{channel}|{locale}|{domain.normalised_contact(channel, contact)}".encode()
    header = signing.sign(secret, body, int(at.timestamp()))
    parts = dict(p.split("=", 1) for p in header.split(","))
    return f"{_b64(body)}.{parts['t']}.{parts['v1']}"


def read_token(
    secret: str, token: str, *, valid_seconds: int, now: float | None = None
) -> Subscriber:
    """The contact the token names; InvalidToken when it is malformed, forged or expired."""
    try:
        encoded, ts, digest = token.split(".")
        body = _unb64(encoded)
        signing.verify(secret, f"t={ts},v1={digest}", body, tolerance=valid_seconds, now=now)
        channel, locale, contact = body.decode().split("|", 2)
    except (ValueError, binascii.Error, UnicodeDecodeError, signing.SignatureError) as exc:
        raise InvalidToken("this unsubscribe link is not valid") from exc
    if channel not in domain.CHANNELS or not contact:
        raise InvalidToken("this unsubscribe link is not valid")
    return Subscriber(channel, contact, locale if locale in domain.LOCALES else "en")


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/v1/unsubscribe?token={quote(token, safe='')}"
