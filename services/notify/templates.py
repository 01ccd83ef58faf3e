"""Message templates: Jinja2 files a shop can edit, checked completely at start.

Layout: `<dir>/<locale>/<template>.<part>` with the parts `sms.txt` (the SMS
text), `email.subject.txt`, `email.txt` (plain text) and `email.html`. A missing
file, a syntax error or a value a template names but the service does not
provide (StrictUndefined) stops the service at start, never at send time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    select_autoescape,
)
from markupsafe import Markup, escape

from services.notify import domain

DEFAULT_DIR = Path(__file__).parent / "templates"
# A web address ends at whitespace, quotes, brackets or full-width punctuation.
_URL = re.compile(r"https?://[^\s<>\"')\uff09\uff0c\u3002]+")
PARTS = {"sms": ("sms.txt",), "email": ("email.subject.txt", "email.txt", "email.html")}


class TemplatesInvalid(RuntimeError):
    """The template set is incomplete or broken; the service must not start."""


@dataclass(frozen=True)
class Rendered:
    channel: str
    text: str
    subject: str | None = None
    html: str | None = None


def _line(text: str) -> Markup:
    """One line of plain text as HTML: escaped, with its web addresses made links."""
    out, last = Markup(""), 0
    for match in _URL.finditer(text):
        url = match.group(0)
        out += escape(text[last : match.start()]) + Markup('<a href="{0}">{0}</a>').format(url)
        last = match.end()
    return out + escape(text[last:])


def _paragraphs(text: str) -> Markup:
    """Plain text to HTML paragraphs, every character escaped."""
    blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(_line(x) for x in b.splitlines()))
        for b in blocks
    )


class Templates:
    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory else DEFAULT_DIR
        self.env = Environment(
            loader=FileSystemLoader(str(self.directory)),
            undefined=StrictUndefined,
            autoescape=select_autoescape(["html"], default_for_string=False, default=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["paragraphs"] = _paragraphs

    def _get(self, locale: str, template: str, part: str) -> Any:
        return self.env.get_template(f"{locale}/{template}.{part}")

    def render(self, template: str, locale: str, channel: str, values: dict[str, Any]) -> Rendered:
        if channel == "sms":
            text = self._get(locale, template, "sms.txt").render(values).strip()
            return Rendered(channel, " ".join(text.split()))
        subject = self._get(locale, template, "email.subject.txt").render(values)
        text = self._get(locale, template, "email.txt").render(values).strip() + "\n"
        html = self._get(locale, template, "email.html").render({**values, "text_body": text})
        return Rendered(channel, text, subject=" ".join(subject.split()), html=html)

    def check(self, samples: dict[str, dict[str, dict[str, Any]]]) -> None:
        """Loads, compiles and renders every (template, locale, channel) with sample values;
        raises TemplatesInvalid naming every problem found."""
        problems = []
        every: list[tuple[str, tuple[str, ...]]] = [(t, domain.CHANNELS) for t in domain.TEMPLATES]
        every += [(t, ("email",)) for t in domain.OPS_TEMPLATES]  # staff get no SMS
        for template, channels in every:
            for locale in domain.LOCALES:
                for channel in channels:
                    try:
                        rendered = self.render(template, locale, channel, samples[template][locale])
                        if not rendered.text.strip():
                            problems.append(f"{locale}/{template} ({channel}): renders empty")
                    except (TemplateError, OSError, KeyError) as exc:
                        problems.append(f"{locale}/{template} ({channel}): {exc!r}")
        if problems:
            raise TemplatesInvalid(
                f"message templates in {self.directory} are incomplete or broken: "
                + "; ".join(problems)
            )
