"""Every message in every locale and channel, compared with a golden file a person reviewed.

The golden files under `golden/` are the messages customers get for the sample
order in services/notify/samples.py. After changing a template on purpose,
regenerate them with `NOTIFY_REGENERATE_GOLDEN=1` and read the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from services.notify import domain, samples
from services.notify.templates import Rendered, Templates

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = bool(os.environ.get("NOTIFY_REGENERATE_GOLDEN"))
VALUES = samples.values("Fulfil Shop")
TEMPLATES = Templates()
CASES = [
    (template, locale, channel)
    for template in domain.TEMPLATES
    for locale in domain.LOCALES
    for channel in domain.CHANNELS
]


def as_text(rendered: Rendered) -> str:
    if rendered.channel == "sms":
        return rendered.text + "\n"
    return f"Subject: {rendered.subject}\n\n{rendered.text}\n----- HTML -----\n{rendered.html}\n"


@pytest.mark.parametrize(("template", "locale", "channel"), CASES, ids=[".".join(c) for c in CASES])
def test_each_message_reads_as_reviewed(template: str, locale: str, channel: str) -> None:
    rendered = TEMPLATES.render(template, locale, channel, VALUES[template][locale])
    path = GOLDEN / f"{template}.{locale}.{channel}.txt"
    if REGENERATE:
        path.write_text(as_text(rendered))
    assert path.exists(), f"no golden file {path.name}; regenerate with NOTIFY_REGENERATE_GOLDEN=1"
    assert as_text(rendered) == path.read_text()


def test_every_golden_file_belongs_to_a_message() -> None:
    expected = {f"{t}.{loc}.{c}.txt" for t, loc, c in CASES}
    assert {p.name for p in GOLDEN.glob("*.txt")} == expected


@pytest.mark.parametrize("locale", domain.LOCALES)
def test_every_message_links_to_the_order_and_no_template_text_leaks(locale: str) -> None:
    for template in domain.TEMPLATES:
        values = VALUES[template][locale]
        for channel in domain.CHANNELS:
            rendered = TEMPLATES.render(template, locale, channel, values)
            body = rendered.text + (rendered.subject or "")
            assert "{{" not in body and "{%" not in body, (template, channel)
            link = values["review_url"] if template == "order_completed" else values["order_url"]
            assert link in rendered.text, (template, channel)


COURIER_NAMES = {"zh-CN": "顺丰速运", "zh-TW": "順豐速運", "en": "SF Express"}
SF_TRACKING = "https://www.sf-express.com/chn/sc/waybill/waybill-detail/SF1234567890"


def test_the_shipped_message_names_product_variant_courier_tracking_and_masked_address() -> None:
    for locale in domain.LOCALES:
        values = VALUES["shipped"][locale]
        for channel in domain.CHANNELS:
            text = TEMPLATES.render("shipped", locale, channel, values).text
            first = values["shipped_items"][0]
            assert first["name"] in text and first["variant"] in text
            assert COURIER_NAMES[locale] in text and "SF1234567890" in text
            assert SF_TRACKING in text, "a link to the courier's tracking page"
            assert not re.search(r"\bsf\b", text.replace(SF_TRACKING, "")), "never the code"
            assert values["address"] in text and "***" in text
            assert values["name"] in text, "with a greeting by name"
            street = samples.placed(locale).address.line1
            assert street not in text, "the full street is never in a message"


def test_a_refund_ends_with_we_hope_to_serve_you_again() -> None:
    wish = {
        "en": "We hope to serve you again",
        "zh-CN": "期待再次为您服务",
        "zh-TW": "期待再次為您服務",
    }
    for locale, words in wish.items():
        for channel in domain.CHANNELS:
            assert (
                words
                in TEMPLATES.render(
                    "refund_paid", locale, channel, VALUES["refund_paid"][locale]
                ).text
            )


def test_sms_is_one_short_line() -> None:
    for template in domain.TEMPLATES:
        for locale in domain.LOCALES:
            values = VALUES[template][locale]
            text = TEMPLATES.render(template, locale, "sms", values).text
            without_link = text.replace(values["order_url"], "")
            without_link = without_link.replace(values.get("tracking_url") or "", "")
            assert "\n" not in text
            assert len(without_link) <= 200, (template, locale, len(without_link))


def test_a_refused_parcel_says_it_goes_back_nothing_is_charged_and_why() -> None:
    said = {  # nothing charged, the order closed, the wish; then why, by reason
        "en": ("Nothing", "closed", "We hope to serve you again", "refused at delivery"),
        "zh-CN": ("收取任何款项", "关闭", "期待再次为您服务", "被拒收"),
        "zh-TW": ("收取任何款項", "關閉", "期待再次為您服務", "被拒收"),
    }
    attempts = {"en": "after several attempts", "zh-CN": "多次", "zh-TW": "多次"}
    for locale, words in said.items():
        for reason, why in (("refused", words[3]), ("undeliverable", attempts[locale])):
            values = VALUES["delivery_refused"][locale] | {"reason": reason}
            for channel in domain.CHANNELS:
                text = TEMPLATES.render("delivery_refused", locale, channel, values).text
                assert all(w in text for w in (*words[:3], why)), (locale, reason, channel)
            sms = TEMPLATES.render("delivery_refused", locale, "sms", values).text
            assert len(sms.replace(values["order_url"], "")) <= 200, (locale, reason)
    assert "delivery_refused" not in domain.NON_ESSENTIAL, "an opt-out never silences it"
