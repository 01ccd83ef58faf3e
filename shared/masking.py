"""Personal data masked wherever it leaves a service or the command: phone numbers, emails
and addresses, in decoded JSON (by field name, at any depth) and in free text."""

from __future__ import annotations

import re
from typing import Any

_PERSONAL_KEYS = ("phone", "email", "address", "recipient", "line1", "line2", "postal_code")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# An international number (+ and digits, spaced or dashed) or a bare run of 8-15 digits:
# not the digits inside an id, a date or a topic position.
_PHONE = re.compile(r"(?<![\w.:+-])(\+\d[\d ()-]{6,}\d|\d{8,15})(?![\w.:-])")


def mask_text(value: str) -> str:
    """An email or phone number found in free text, masked."""
    value = _EMAIL.sub(lambda m: _mask_email(m.group()), value)
    return _PHONE.sub(lambda m: _mask_phone(m.group()), value)


def _mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


def _mask_phone(value: str) -> str:
    digits = [c for c in value if c.isdigit()]
    return f"***{''.join(digits[-2:])}"


def _personal(key: str) -> bool:
    key = key.lower()
    return any(part in key for part in _PERSONAL_KEYS)


def mask(value: Any, key: str = "") -> Any:
    """`value` (decoded JSON) with every personal field masked, at any depth."""
    if isinstance(value, dict):
        if _personal(key):
            return {k: "***" if v is not None else None for k, v in value.items()}
        return {k: mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, key) for v in value]
    if isinstance(value, str):
        if _personal(key):
            if "email" in key.lower():
                return _mask_email(value)
            if "phone" in key.lower():
                return _mask_phone(value)
            return "***"
        return mask_text(value)
    return value
