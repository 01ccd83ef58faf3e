"""What every page answer carries, and the forms' protection against forgery.

Headers: a Content-Security-Policy that allows only this origin's scripts and styles
(a script in the page runs only with the request's nonce), no framing, no MIME sniffing,
no referrer beyond this origin (a message link carries the order's token in its query).

Forms: signed double submit. A random value lives in a cookie (HttpOnly, SameSite=Strict);
each form carries an HMAC of it and the form's scope (the order id) under WEB_CSRF_SECRET.
A forged form from another site can neither read the cookie nor compute the HMAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "fulfil_csrf"
CSRF_FIELD = "csrf_token"
NONCE_KEY = "csp_nonce"


def policy(nonce: str) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "form-action 'self' https:",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        )
    )


class SecurityHeaders:
    """A plain ASGI middleware: a nonce per request (in `scope["state"]`), the headers on
    every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})[NONCE_KEY] = nonce

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", policy(nonce).encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def nonce(request: Request) -> str:
    return str(getattr(request.state, NONCE_KEY, ""))


def csrf_cookie(request: Request) -> str:
    """The browser's anti-forgery value, a new one when it has none yet (`ensure_cookie`
    then sets it on the answer)."""
    value = request.cookies.get(CSRF_COOKIE)
    if value and 20 <= len(value) <= 100:
        return value
    fresh = getattr(request.state, "new_csrf", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.new_csrf = fresh
    return str(fresh)


def csrf_token(secret: str, cookie: str, scope: str) -> str:
    digest = hmac.new(secret.encode(), f"{scope}:{cookie}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_valid(secret: str, request: Request, scope: str, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted:
        return False
    expected = csrf_token(secret, cookie, scope)
    return hmac.compare_digest(expected.encode(), submitted.encode("utf-8", "surrogatepass"))


def ensure_cookie(request: Request, response: Response, *, secure: bool) -> None:
    fresh = getattr(request.state, "new_csrf", None)
    if fresh is not None:
        response.set_cookie(
            CSRF_COOKIE, fresh, httponly=True, samesite="strict", secure=secure, path="/"
        )
