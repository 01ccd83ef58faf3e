"""Kuaidi100's wire format: MD5 signatures, upper-case hex, over plain concatenations.

- e-waybill order (`api.kuaidi100.com/label/order`): `sign = MD5(param + t + key + secret)`,
  `t` the request time in milliseconds;
- real-time query (`poll.kuaidi100.com/poll/query.do`): `sign = MD5(param + key + customer)`;
- the subscription's push callback: `sign = MD5(param + salt)`, the salt we gave when
  subscribing.

`param` is the exact JSON text sent (or received) in the form field: signed as it stands,
never re-serialised. Requests and pushes are `application/x-www-form-urlencoded`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any


class SignatureError(Exception):
    """A push whose signature is missing or does not match."""


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def order_sign(param: str, t: str, key: str, secret: str) -> str:
    return md5_upper(param + t + key + secret)


def query_sign(param: str, key: str, customer: str) -> str:
    return md5_upper(param + key + customer)


def push_sign(param: str, salt: str) -> str:
    return md5_upper(param + salt)


def verify_push(param: str | None, sign: str | None, salt: str) -> None:
    """Raises SignatureError unless `sign` is MD5(param + salt) (compared in constant time)."""
    if not param:
        raise SignatureError("missing param")
    if not sign:
        raise SignatureError("missing sign")
    if not hmac.compare_digest(push_sign(param, salt), sign.strip().upper()):
        raise SignatureError("sign does not match MD5(param + salt)")


def param_text(value: dict[str, Any]) -> str:
    """The `param` form field: compact JSON, Chinese kept as is (what is signed is what is
    sent, so the exact text matters only in that it is not rebuilt afterwards)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
