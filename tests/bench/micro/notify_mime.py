"""CPU per email: composing it (notify) and reading it (the local sink), before and after.

Before: `email.message.EmailMessage` with the default policy, flattened as aiosmtplib
does for a send; the sink parsing it back with the default policy. After: notify writing
the bytes itself (services/notify/mime.py) and the sink's compat32 parse. The messages are
the shipped templates rendered in each language.

    .venv/bin/python -m tests.bench.micro.notify_mime [--rounds 300]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from aiosmtplib.email import flatten_message

from deploy.local.sinks import KEPT_HEADERS, read_email
from services.notify import domain, samples
from services.notify.channels import Delivery, SmtpEmail, message_id_header
from services.notify.templates import Templates

SENDER = "Fulfil Shop <orders@fulfil.example>"
LOCALES = ("zh-CN", "zh-TW", "en")


def deliveries() -> list[Delivery]:
    templates, values = Templates(), samples.values()
    out = []
    for locale in LOCALES:
        for template in domain.TEMPLATES:
            r = templates.render(template, locale, "email", values[template][locale])
            unsubscribe = samples.UNSUBSCRIBE_URL if template in domain.NON_ESSENTIAL else None
            n, to = len(out), "li.wei@example.com"
            out.append(Delivery(f"ntf_{n}", "email", to, r.text, r.subject, r.html, unsubscribe))
    return out


def compose_before(d: Delivery) -> bytes:
    """What notify did before: the stdlib message, flattened as aiosmtplib sends it."""
    return flatten_message(message_before(d), utf8=False, cte_type="8bit")


def message_before(d: Delivery) -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = d.recipient
    message["Subject"] = d.subject or ""
    message["Message-ID"] = message_id_header(d.message_id)
    message["Date"] = formatdate(usegmt=True)
    if d.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{d.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(d.text)
    if d.html:
        message.add_alternative(d.html, subtype="html")
    return message


def read_before(raw: bytes) -> dict[str, Any]:
    """What the sink did before: the default policy's parse."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return {
        "key": str(message.get("Message-ID", "")).strip("<>").split("@")[0],
        "subject": str(message.get("Subject", "")),
        "text": text.get_content().replace("\r\n", "\n") if text is not None else "",
        "html": html.get_content().replace("\r\n", "\n") if html is not None else None,
        # a long header was folded after its name: the value read back starts with a space
        "headers": {h: str(message[h]).strip() for h in KEPT_HEADERS if h in message},
    }


def read_after(raw: bytes) -> dict[str, Any]:
    key, record = read_email(raw)
    return {"key": key, **record}


def per_call_us(fn: Callable[[Any], Any], items: list[Any], rounds: int) -> float:
    """Median over rounds of the CPU time per item, in microseconds."""
    figures = []
    for _ in range(rounds):
        start = time.process_time_ns()
        for item in items:
            fn(item)
        figures.append((time.process_time_ns() - start) / len(items) / 1000)
    figures.sort()
    return figures[len(figures) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    rounds = parser.parse_args().rounds
    items = deliveries()
    smtp = SmtpEmail("127.0.0.1", 25, SENDER)
    written = [smtp.compose(d) for d in items]
    before = [compose_before(d) for d in items]
    for old, new in zip(before, written, strict=True):  # the sink records the same either way
        assert read_before(old) == read_after(new) == read_before(new), "same message"
    print(f"{len(items)} emails ({', '.join(LOCALES)}; every template), median of {rounds} rounds")
    rows = [
        ("compose (notify)", per_call_us(compose_before, items, rounds),
         per_call_us(smtp.compose, items, rounds)),
        ("parse (sink)", per_call_us(read_before, before, rounds),
         per_call_us(read_after, written, rounds)),
    ]  # fmt: skip
    print(f"{'CPU µs per email':<20}{'before':>10}{'after':>10}{'ratio':>8}")
    for name, old_us, new_us in rows:
        print(f"{name:<20}{old_us:>10.1f}{new_us:>10.1f}{old_us / new_us:>7.1f}x")


if __name__ == "__main__":
    main()
