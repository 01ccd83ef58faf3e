"""Keyset pagination's cursor: the (time, id) of the last row of a page, which the next page
continues after. Opaque to clients (URL-safe base64 of JSON); one that this code did not make
is a 422 naming `cursor`."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from shared.problems import Unprocessable


def cursor(at: datetime, key: str) -> str:
    raw = json.dumps([at.isoformat(), key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def after(text: str) -> tuple[datetime, str]:
    """The (time, id) a cursor continues after; Unprocessable if it is not one of ours."""
    try:
        at, key = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or not isinstance(key, str) or not key:
            raise ValueError(text)
    except (binascii.Error, ValueError, TypeError) as exc:
        message = "not a cursor this listing gave (next_cursor)"
        field = {"field": "cursor", "message": message}
        raise Unprocessable("invalid_cursor", message, field="cursor", fields=[field]) from exc
    return moment, key
