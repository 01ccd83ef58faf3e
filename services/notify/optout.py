"""Opting out by contact, pure rules: one spelling (and a stored hash) per contact, the SMS
replies that opt out, what an opted-out contact no longer gets, and unsubscribe links.

An unsubscribe link carries a signed token naming one contact, so a guest can opt out by
clicking. The token is `<contact>.<t>.<v1>`: the channel, locale and normalised contact
(base64url), and a signature made with shared/signing.py over them at time `t`.
Anyone holding the link may opt that one contact out and nothing else; a forged
or altered token does not verify. Links stay valid for `unsubscribe_link_days`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from services.notify import domain
from services.notify.settings import NotifySettings
from shared import signing

CONTACT_OPTED_OUT = "contact_opted_out"
# What a reply to an SMS may say to stop non-essential messages (matched whole, any case).
OPT_OUT_KEYWORDS = frozenset({"td", "t", "stop", "unsubscribe", "退订", "退訂"})
_KEYWORD_NOISE = " \t\r\n.,!?;:'\"\u3001\u3002"  # after NFKC, plus the ideographic comma and stop


def normalised_contact(channel: str, value: str) -> str:
    """One spelling per contact: an email lower-cased and trimmed; a phone as +<digits>, a
    mainland mobile given without its country code taken as +86."""
    if channel == "email":
        return value.strip().casefold()
    raw = value.strip()
    digits = "".join(c for c in raw if c.isdigit())
    if raw.startswith("00"):
        return "+" + digits[2:]
    if raw.startswith("+"):
        return "+" + digits
    if len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits
    return "+" + digits


def contact_key(channel: str, value: str) -> str:
    """How an opted-out contact is stored: a hash of its normalised form, never the contact."""
    normal = normalised_contact(channel, value)
    return hashlib.sha256(f"{channel}:{normal}".encode()).hexdigest()


def is_opt_out_keyword(text: str) -> bool:
    """True when an SMS reply is an opt-out: "TD", "t", "STOP!", "退订", also typed full-width."""
    return unicodedata.normalize("NFKC", text).strip(_KEYWORD_NOISE).casefold() in OPT_OUT_KEYWORDS


def skip_reason(template: str, contact_opted_out: bool) -> str | None:
    """Why a message is recorded but not sent: a non-essential one to an opted-out contact.
    Essential messages (confirmations, payments, shipping, refunds) always go."""
    if template in domain.NON_ESSENTIAL and contact_opted_out:
        return CONTACT_OPTED_OUT
    return None


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
    body = f"{channel}|{locale}|{normalised_contact(channel, contact)}".encode()
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


def unsubscribe_link(settings: NotifySettings, email: str, locale: str, now: datetime) -> str:
    """The link an email to `email` carries to opt that address out."""
    token = make_token(settings.unsubscribe_secret.get_secret_value(), "email", email, locale, now)
    return unsubscribe_url(settings.base_url, token)
