"""Order access tokens: open one order, and only that one, for a guest or a message link.

Stateless: an HMAC of the order id under a secret the services that accept
tokens share, so any of them can check a token without asking the order service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def order_token(secret: str, order_id: str) -> str:
    digest = hmac.new(secret.encode(), f"order:{order_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def token_opens(secret: str, order_id: str, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(
        order_token(secret, order_id).encode(), token.encode("utf-8", "surrogatepass")
    )
