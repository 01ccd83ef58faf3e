"""A missing or broken template stops the service at start, not at send time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.notify import samples
from services.notify.app import build
from services.notify.settings import NotifySettings
from services.notify.templates import DEFAULT_DIR, Templates, TemplatesInvalid


def copy_templates(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(DEFAULT_DIR, target)
    return target


def test_the_shipped_templates_are_complete() -> None:
    Templates().check(samples.values())
    assert build(NotifySettings()).deps.templates.directory == DEFAULT_DIR


def test_a_missing_template_refuses_the_start(tmp_path: Path) -> None:
    directory = copy_templates(tmp_path)
    (directory / "zh-TW" / "delivered.sms.txt").unlink()
    with pytest.raises(TemplatesInvalid, match=r"zh-TW/delivered \(sms\)"):
        build(NotifySettings(templates_dir=str(directory)))


def test_a_template_naming_an_unknown_value_refuses_the_start(tmp_path: Path) -> None:
    directory = copy_templates(tmp_path)
    (directory / "en" / "shipped.email.subject.txt").write_text("Shipped {{ parcel_colour }}")
    with pytest.raises(TemplatesInvalid, match="parcel_colour"):
        build(NotifySettings(templates_dir=str(directory)))


def test_a_template_with_a_syntax_error_refuses_the_start(tmp_path: Path) -> None:
    directory = copy_templates(tmp_path)
    (directory / "zh-CN" / "order_closed.email.txt").write_text("{% if %}")
    with pytest.raises(TemplatesInvalid, match=r"zh-CN/order_closed \(email\)"):
        build(NotifySettings(templates_dir=str(directory)))


def test_a_shop_can_change_the_wording(tmp_path: Path) -> None:
    directory = copy_templates(tmp_path)
    (directory / "en" / "delivered.sms.txt").write_text("Delivered! {{ tracking_number }}")
    templates = build(NotifySettings(templates_dir=str(directory))).deps.templates
    values = samples.values()["delivered"]["en"]
    assert templates.render("delivered", "en", "sms", values).text == "Delivered! SF1234567890"


def test_html_email_escapes_customer_text() -> None:
    values = dict(samples.values()["shipped"]["en"], name="<script>x</script>")
    html = Templates().render("shipped", "en", "email", values).html
    assert html is not None and "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(
    ("locale", "words"),
    [("en", "already left"), ("zh-CN", "未能拦截"), ("zh-TW", "未能攔截")],
)
def test_a_refund_request_turned_into_a_return_says_the_parcel_had_left(
    locale: str, words: str
) -> None:
    templates = Templates()
    told = dict(samples.values()["refund_requested"][locale], flow="with_return")
    for channel in ("email", "sms"):
        plain = templates.render("refund_requested", locale, channel, told).text
        converted = {**told, "parcel_already_shipped": True}
        said = templates.render("refund_requested", locale, channel, converted).text
        assert words not in plain and words in said, channel
