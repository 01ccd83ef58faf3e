"""The email bytes notify writes itself read back, with the stdlib's strict parser, as the
message it means: headers decoded, text and HTML alternatives, in every language."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest

from services.notify import domain, mime, samples
from services.notify.channels import Delivery, SmtpEmail
from services.notify.templates import Templates

SENDER = "Fulfil Shop <orders@fulfil.example>"
TEMPLATES = Templates()
VALUES = samples.values()


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert not message.defects, message.defects
    for part in message.walk():
        assert not part.defects, part.defects
    return message


def body(message: EmailMessage, kind: str) -> str | None:
    part = message.get_body(preferencelist=(kind,))
    if part is None:
        return None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def rendered(template: str, locale: str) -> Delivery:
    r = TEMPLATES.render(template, locale, "email", VALUES[template][locale])
    unsubscribe = samples.UNSUBSCRIBE_URL if template in domain.NON_ESSENTIAL else None
    return Delivery(
        message_id=f"ntf_{locale.replace('-', '')}{template}",
        channel="email",
        recipient="li.wei@example.com",
        text=r.text,
        subject=r.subject,
        html=r.html,
        unsubscribe_url=unsubscribe,
    )


@pytest.mark.parametrize("locale", ["zh-CN", "zh-TW", "en"])
@pytest.mark.parametrize("template", ["order_confirmation", "shipped", "payment_reminder"])
def test_every_language_reads_back_as_the_message_rendered(locale: str, template: str) -> None:
    smtp = SmtpEmail("127.0.0.1", 25, SENDER)
    delivery = rendered(template, locale)
    raw = smtp.compose(delivery)
    date = raw.split(b"\r\nDate: ", 1)[1].split(b"\r\n", 1)[0].decode()
    message_id = f"<{delivery.message_id}@notify.fulfil>"
    written = mime.compose(delivery, smtp.from_bytes, message_id, date=date)
    assert raw == written, "written directly, not by the stdlib"
    assert raw.isascii(), "7bit throughout: no relay needs 8BITMIME"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b""), "CRLF line ends only"
    message = parsed(raw)
    assert message["From"] == SENDER
    assert message["To"] == delivery.recipient
    assert message["Subject"] == delivery.subject
    assert message["Message-ID"] == f"<{delivery.message_id}@notify.fulfil>"
    assert parsedate_to_datetime(message["Date"]).utcoffset() is not None
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "multipart/alternative"
    kinds = [p.get_content_type() for p in message.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in message.iter_parts())
    assert body(message, "plain") == delivery.text
    assert body(message, "html") == (delivery.html or "") + "\n"
    if delivery.unsubscribe_url:
        assert message["List-Unsubscribe"] == f"<{delivery.unsubscribe_url}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    else:
        assert "List-Unsubscribe" not in message


def test_the_written_bytes_read_back_as_the_stdlib_composed_ones() -> None:
    smtp = SmtpEmail("127.0.0.1", 25, SENDER)
    for locale in ("zh-CN", "zh-TW", "en"):
        delivery = rendered("order_confirmation", locale)
        ours = parsed(smtp.compose(delivery))
        theirs = parsed(smtp.compose(Delivery(**{**delivery.__dict__, "recipient": "lí@例え.jp"})))
        for name in ("From", "Subject", "Message-ID"):
            assert ours[name] == theirs[name], name
        for kind in ("plain", "html"):
            assert body(ours, kind) == body(theirs, kind), kind


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "x" * 300,
        "A rather long English subject line that goes well past the seventy-eight characters",
        "訂單 " * 40,
        "=?utf-8?q?not-an-encoded-word?= really",
        "emoji 🎉 and 中文 mixed with a very long tail of words to fold across several lines",
    ],
)
def test_any_subject_reads_back_unchanged_and_never_adds_a_header(subject: str) -> None:
    smtp = SmtpEmail("127.0.0.1", 25, "訂單通知 <orders@fulfil.example>")
    delivery = Delivery("ntf_s", "email", "li@example.com", "hi", subject=subject)
    raw = smtp.compose(delivery)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    message = parsed(raw)
    assert message["From"] == "訂單通知 <orders@fulfil.example>"
    assert message["Subject"] == subject
    assert message.get_content_type() == "text/plain"
    assert body(message, "plain") == "hi\n"


def test_a_line_break_in_a_subject_cannot_add_a_header() -> None:
    smtp = SmtpEmail("127.0.0.1", 25, SENDER)
    subject = "two\r\nBcc: someone@example.com"
    message = parsed(smtp.compose(Delivery("ntf_s", "email", "li@example.com", "hi", subject)))
    assert "Bcc" not in message
    assert message["Subject"].replace("\r\n", " ") == "two Bcc: someone@example.com"


def test_a_body_with_long_lines_or_a_boundary_like_line_still_reads_back() -> None:
    smtp = SmtpEmail("127.0.0.1", 25, SENDER)
    text = "a" * 2000 + "\n--=_alt_ntf_b\n.\nend"
    delivery = Delivery("ntf_b", "email", "li@example.com", text, subject="s", html="<p>x</p>")
    message = parsed(smtp.compose(delivery))
    assert body(message, "plain") == text + "\n"
    assert body(message, "html") == "<p>x</p>\n"


def test_encoded_words_never_split_a_character() -> None:
    words = mime.encoded_words("訂" * 100).split(b"\r\n ")
    assert len(words) > 1 and all(len(w) <= 75 for w in words)
