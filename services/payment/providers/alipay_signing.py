"""Alipay's open platform wire format: RSA2 signatures, response nodes, yuan and China time.

Requests (and the asynchronous notify) are signed over a base string: every parameter
except `sign` (and, for a notify, `sign_type`) with a non-empty value, sorted by name,
`name=value` joined by `&`, unencoded; the signature is SHA256withRSA (PKCS#1 v1.5),
base64. A gateway response is `{"<method>_response": {...}, "sign": "..."}` where the
signature covers the exact JSON text of the response node as sent, so the node is cut
out of the raw body, never re-serialised.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # Alipay's "yyyy-MM-dd HH:mm:ss", in China time
_FEN = Decimal("0.01")
_MOST = Decimal(100_000_000)  # Alipay's largest amount, in yuan


class SignatureError(Exception):
    """A signature that is missing, malformed or does not match."""


def base_string(params: Mapping[str, str], exclude: Iterable[str] = ("sign",)) -> str:
    """What is signed: the non-empty parameters but `exclude`, sorted by name, `k=v&...`."""
    skipped = set(exclude)
    kept = sorted((k, v) for k, v in params.items() if k not in skipped and v != "")
    return "&".join(f"{k}={v}" for k, v in kept)


def private_key(pem: str) -> rsa.RSAPrivateKey:
    """A PEM private key (PKCS#8 or PKCS#1), or Alipay's bare base64 PKCS#8 form."""
    key = serialization.load_pem_private_key(_pem(pem, "PRIVATE KEY").encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("an Alipay key is an RSA key")
    return key


def public_key(pem: str) -> rsa.RSAPublicKey:
    """A PEM public key, or the bare base64 form Alipay's console shows."""
    key = serialization.load_pem_public_key(_pem(pem, "PUBLIC KEY").encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("an Alipay key is an RSA key")
    return key


def _pem(text: str, label: str) -> str:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return text
    body = "".join(text.split())
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"


def sign(key: rsa.RSAPrivateKey, content: str) -> str:
    """SHA256withRSA of `content` (UTF-8), base64: Alipay's RSA2."""
    signature = key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify(key: rsa.RSAPublicKey, content: str, signature: str | None) -> None:
    """Raises SignatureError unless `signature` is RSA2 of `content` by `key`."""
    if not signature:
        raise SignatureError("missing signature")
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("signature is not base64") from exc
    try:
        key.verify(raw, content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise SignatureError("signature does not match") from exc


def sign_params(key: rsa.RSAPrivateKey, params: Mapping[str, str]) -> dict[str, str]:
    """The request parameters with their `sign` added."""
    return {**params, "sign": sign(key, base_string(params))}


def response_node(body: str, method: str) -> tuple[dict[str, Any], str, str | None]:
    """The response node of `method` (else `error_response`), its exact JSON text and the
    body's `sign`. Raises ValueError for a body that is not a gateway response."""
    parsed = json.loads(body)
    if not isinstance(parsed, dict):
        raise ValueError("not a gateway response")
    name = method.replace(".", "_") + "_response"
    if name not in parsed:
        name = "error_response"
    node = parsed.get(name)
    if not isinstance(node, dict):
        raise ValueError(f"no {method.replace('.', '_')}_response in the body")
    return node, _raw_value(body, name), parsed.get("sign")


def _raw_value(body: str, name: str) -> str:
    """The text of the top-level value named `name`, exactly as it appears in `body`."""
    decoder = json.JSONDecoder()
    index = body.index("{") + 1
    while True:
        index = _skip(body, index)
        key, index = decoder.raw_decode(body, index)
        index = _skip(body, index) + 1  # the ':'
        start = _skip(body, index)
        _, end = decoder.raw_decode(body, start)
        if key == name:
            return body[start:end]
        index = _skip(body, end) + 1  # the ','


def _skip(body: str, index: int) -> int:
    while body[index] in " \t\r\n":
        index += 1
    return index


def yuan(fen: int) -> str:
    """Minor units as Alipay's amount: yuan with exactly two decimals."""
    return str((Decimal(fen) / 100).quantize(_FEN))


def fen(amount: str) -> int:
    """Alipay's yuan amount in minor units, exactly; ValueError for anything else."""
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    if not value.is_finite() or not 0 <= value <= _MOST or value != value.quantize(_FEN):
        raise ValueError(f"not an amount in yuan: {amount!r}")
    return int(value * 100)


def china_time(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime(TIME_FORMAT)


def from_china_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=CHINA).astimezone(UTC)
