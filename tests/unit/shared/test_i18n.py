"""The customer's language: which one a request gets, every sentence in each, money as each
writes it."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from services.order.timeline import MSGIDS, describe
from shared import i18n

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-TW", "zh-TW"),
        ("zh-Hant", "zh-TW"),
        ("zh-HK,en;q=0.5", "zh-TW"),
        ("zh-Hant-HK", "zh-TW"),
        ("zh", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("zh-CN,zh;q=0.9", "zh-CN"),
        ("en-GB,en;q=0.8", "en"),
        ("fr-FR,zh-TW;q=0.4,en;q=0.3", "zh-TW"),  # the best one we speak
        ("en;q=0.2, zh-Hans;q=0.9", "zh-CN"),  # q-values, not order, decide
        ("zh-TW;q=0.5, en;q=0.5", "zh-TW"),  # a tie: the first one listed
        ("fr, de;q=0.9", None),
        ("zh-TW;q=0, fr", None),  # q=0 means "not this"
        ("*", None),
        ("", None),
        ("en;q=abc, zh", "zh-CN"),
    ],
)
def test_accept_language_picks_the_best_language_we_speak(
    header: str, expected: str | None
) -> None:
    assert i18n.from_accept_language(header) == expected


def test_lang_wins_then_accept_language_then_the_orders_own_locale() -> None:
    assert i18n.negotiate("en", "zh-TW", "zh-CN") == "en"
    assert i18n.negotiate(None, "zh-TW", "zh-CN") == "zh-TW"
    assert i18n.negotiate(None, "fr-FR", "zh-CN") == "zh-CN"  # unsupported: the order's
    assert i18n.negotiate(None, None, "en") == "en"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_sentence_is_translated_in_every_language(lang: str) -> None:
    with i18n.catalogue_path(lang).open("rb") as po:
        catalog = read_po(po)
    missing = [m for m in MSGIDS if m not in catalog or not catalog[m].string]
    assert not missing, f"{lang}.po lacks {missing}"
    for message in catalog:
        if not message.id:
            continue
        assert message.id in MSGIDS, f"{lang}.po has a sentence no code uses: {message.id!r}"
        assert not message.fuzzy, f"{lang}.po: {message.id!r} is marked fuzzy"
        same = sorted(PLACEHOLDER.findall(str(message.id)))
        assert sorted(PLACEHOLDER.findall(str(message.string))) == same, message.id


def test_the_timeline_speaks_the_language_asked_for() -> None:
    details = {"courier": "sf", "tracking_number": "SF1"}
    assert describe("shipped", details, "zh-CN").startswith("卖家已通过顺丰速运发货")
    assert describe("shipped", details, "zh-TW").startswith("賣家已透過順豐速運出貨")
    assert describe("shipped", details, "en").startswith("Seller has shipped your order with SF")
    failed = {"city": "上海", "status": "failed_attempt", "description": "电话无人接听"}
    assert "将再次派送" in describe("checkpoint", failed, "zh-CN")
    assert describe("checkpoint", {"city": "杭州", "status": "arrived_in_city"}, "en") == (
        "Your parcel has arrived in 杭州."
    )


@pytest.mark.parametrize(
    ("amount", "currency", "lang", "expected"),
    [
        (12_850, "CNY", "zh-CN", "¥128.50"),
        (12_850, "CNY", "zh-TW", "CN¥128.50"),
        (12_850, "CNY", "en", "CN¥128.50"),
        (120_000, "TWD", "zh-TW", "$1,200.00"),
        (120_000, "TWD", "en", "NT$1,200.00"),
        (1_500, "JPY", "en", "¥1,500"),
        (1_500, "JPY", "zh-CN", "JP¥1,500"),
        (999, "USD", "en", "$9.99"),
        (999, "USD", "zh-CN", "US$9.99"),
        (123_456_789, "EUR", "en", "€1,234,567.89"),
    ],
)
def test_money_is_written_as_each_language_writes_it(
    amount: int, currency: str, lang: str, expected: str
) -> None:
    assert i18n.money(amount, currency, lang) == expected
