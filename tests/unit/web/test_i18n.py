"""The page's words: every one in each language of the shared catalogue (web domain)."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from shared import i18n as catalogues
from web import i18n

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_word_of_the_page_is_translated_in_every_language(lang: str) -> None:
    with catalogues.catalogue_path(lang, catalogues.WEB).open("rb") as po:
        catalog = read_po(po)
    missing = [m for m in i18n.MSGIDS if m not in catalog or not catalog[m].string]
    assert not missing, f"web/{lang}.po lacks {missing}"
    for message in catalog:
        if not message.id:
            continue
        assert message.id in i18n.MSGIDS, f"web/{lang}.po has words no page uses: {message.id!r}"
        assert not message.fuzzy, f"web/{lang}.po: {message.id!r} is marked fuzzy"
        same = sorted(PLACEHOLDER.findall(str(message.id)))
        assert sorted(PLACEHOLDER.findall(str(message.string))) == same, message.id


def test_the_page_speaks_the_language_asked_for() -> None:
    assert i18n.text("zh-CN", "title", order="O-1") == "订单 O-1"
    assert i18n.text("zh-TW", "courier") == "物流公司"
    assert i18n.text("en", "done_confirm") == "Receipt confirmed, thank you!"
    assert i18n.status("zh-TW", "shipped") == "已出貨"
    assert i18n.refund_status("zh-CN", "rejected") == "已拒绝"
    assert i18n.text("zh-CN", "reason_unknown_code") == ""  # unknown reasons are left unsaid
    assert i18n.status("zh-CN", "some_new_state") == "some new state"
