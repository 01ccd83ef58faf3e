"""The customer's language: which one a request is answered in, and its sentences.

One gettext catalogue per language and domain, English msgids: the order's sentences
(timeline) in `shared/locale/<lang>.po`, the order page's words (web) in
`shared/locale/web/<lang>.po`. Read with Babel and compiled in memory the first time a
language is used, so a fresh clone and the image need no build step. Money is written the
way each language writes it (Babel's CLDR data). Every service that shows customer text
reads it here.

Choosing the language: an explicit `?lang=` wins, then the best `Accept-Language`
range we speak (q-values honoured; zh-Hant, zh-TW, zh-HK and zh-MO read traditional
Chinese, any other zh simplified), then the order's own locale.
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale as BabelLocale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency

from shared.contracts.events.common import Locale

CATALOGUES = Path(__file__).with_name("locale")
LANGUAGES = tuple(locale.value for locale in Locale)
# How Babel (CLDR) names each of our languages.
_CLDR = {"zh-CN": "zh_Hans_CN", "zh-TW": "zh_Hant_TW", "en": "en"}
_TRADITIONAL = ("hant", "tw", "hk", "mo")
# Minor units per major unit for the currencies that do not have two.
_DECIMALS = {"JPY": 0, "KRW": 0}


TIMELINE = "timeline"
WEB = "web"


def catalogue_path(lang: str, domain: str = TIMELINE) -> Path:
    folder = CATALOGUES if domain == TIMELINE else CATALOGUES / domain
    return folder / f"{lang}.po"


@cache
def translations(lang: str, domain: str = TIMELINE) -> gettext.NullTranslations:
    """The compiled catalogue of `lang` (our code, e.g. zh-TW) in `domain`; English is the
    msgids."""
    path = catalogue_path(lang, domain)
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=_CLDR.get(lang, "en"))
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def gettext_for(lang: str, message: str, domain: str = TIMELINE) -> str:
    return translations(lang, domain).gettext(message)


def _language_of(tag: str) -> str | None:
    """Our language for one Accept-Language range; None when we do not speak it."""
    parts = tag.strip().lower().replace("_", "-").split("-")
    if parts[0] == "en":
        return "en"
    if parts[0] == "zh":
        return "zh-TW" if any(p in _TRADITIONAL for p in parts[1:]) else "zh-CN"
    return None


def _ranges(header: str) -> list[tuple[float, int, str]]:
    found = []
    for position, item in enumerate(header.split(",")):
        tag, *params = (piece.strip() for piece in item.split(";"))
        if not tag or tag == "*":
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            found.append((q, position, tag))
    return found


def from_accept_language(header: str | None) -> str | None:
    """The language we speak that the header prefers most (q-values; ties by order)."""
    if not header:
        return None
    for _q, _position, tag in sorted(_ranges(header[:1000]), key=lambda r: (-r[0], r[1])):
        lang = _language_of(tag)
        if lang is not None:
            return lang
    return None


def negotiate(requested: str | None, accept_language: str | None, own: str) -> str:
    """`?lang=` (already checked to be one of ours), else Accept-Language, else `own`."""
    if requested is not None:
        return requested
    return from_accept_language(accept_language) or own


def money(amount: int, currency: str, lang: str) -> str:
    """`amount` minor units of `currency` as `lang` writes money (¥12.50, NT$1,200, US$3.00)."""
    decimals = _DECIMALS.get(currency, 2)
    major = Decimal(amount).scaleb(-decimals)
    return format_currency(major, currency, locale=_CLDR.get(lang, "en"))


def cldr_locale(lang: str) -> BabelLocale:
    return BabelLocale.parse(_CLDR.get(lang, "en"))


@dataclass(frozen=True)
class Wanted:
    """What a request asks of the language: `?lang=` (checked) and its Accept-Language."""

    lang: str | None = None
    accept_language: str | None = None

    def for_order(self, own: str) -> str:
        return negotiate(self.lang, self.accept_language, own)
