"""How messages print money, days and moments, in each locale."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from shared.contracts.envelope import Money

SYMBOLS = {
    "CNY": "¥",
    "HKD": "HK$",
    "TWD": "NT$",
    "USD": "US$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "JP¥",
    "SGD": "S$",
}
NO_MINOR_UNITS = frozenset({"JPY"})
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def money(value: Money) -> str:
    symbol = SYMBOLS.get(value.currency, value.currency + " ")
    if value.currency in NO_MINOR_UNITS:
        return f"{symbol}{value.amount:,}"
    return f"{symbol}{value.amount // 100:,}.{value.amount % 100:02d}"


def day(value: date, locale: str) -> str:
    if locale.startswith("zh"):
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def moment(value: datetime, tz: ZoneInfo, locale: str) -> str:
    local = value.astimezone(tz)
    return f"{day(local.date(), locale)} {local:%H:%M}"
