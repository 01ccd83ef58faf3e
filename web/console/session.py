"""Who is signed in to the console: a cookie naming the operator, signed and dated.

The operator signs in with the operations key (compared in constant time with the
console's own); the cookie then carries only their name, signed with WEB_CSRF_SECRET
(itsdangerous: a well-kept signer with expiry) so it cannot be forged or extended, and is
HttpOnly and SameSite=Strict so neither a script nor another site's request sends it.
"""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, TimestampSigner

COOKIE = "fulfil_console"
MAX_AGE_SECONDS = 8 * 3600  # a working shift


class NotSignedIn(Exception):
    """The page needs an operator: the console answers with its login form."""


def _signer(secret: str) -> TimestampSigner:
    return TimestampSigner(secret, salt="fulfil-console")


def key_opens(submitted: str, ops_key: str) -> bool:
    return hmac.compare_digest(submitted.encode("utf-8", "surrogatepass"), ops_key.encode())


def sign_in(response: Response, secret: str, actor: str, *, secure: bool) -> None:
    value = _signer(secret).sign(actor.encode()).decode()
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE_SECONDS,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/console",
    )


def sign_out(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/console")


def operator(request: Request, secret: str) -> str:
    """The signed-in operator's name; NotSignedIn without a valid, fresh cookie."""
    value = request.cookies.get(COOKIE)
    if not value:
        raise NotSignedIn
    try:
        return _signer(secret).unsign(value, max_age=MAX_AGE_SECONDS).decode()
    except (BadSignature, UnicodeDecodeError) as exc:
        raise NotSignedIn from exc
