"""An email's bytes, written directly rather than through `email.message.EmailMessage`.

The stdlib's default policy builds and folds every header through its header parser:
about a millisecond a message, more than the rest of a send. Our messages have one
shape (From, To, Subject, Message-ID, Date, the one-click unsubscribe headers, and a
text part with an optional HTML alternative), so their bytes are written here:

- a non-ASCII or unusual Subject is RFC 2047 encoded words (UTF-8, base64), never
  splitting a character, one word per folded line; a plain ASCII one is folded at spaces;
- a body part that is ASCII with short lines goes as 7bit, any other as base64 of its
  UTF-8 bytes with CRLF line ends (its canonical form), so no relay needs 8BITMIME;
- the boundary is derived from the message id and checked against the bodies.

What falls outside that shape (a non-ASCII recipient address, a header that is not
plain ASCII) returns None and the caller composes it with the stdlib instead.
"""

from __future__ import annotations

import base64
import binascii
import re
from email.utils import formatdate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.notify.channels import Delivery

CRLF = b"\r\n"
MAX_LINE = 998  # RFC 5322 hard limit, without the CRLF
FOLD_AT = 78  # RFC 5322 recommended limit
_WORD_BYTES = 42  # UTF-8 bytes per encoded word: "=?utf-8?b?" + 56 + "?=" = 68 characters
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]|=\?")  # controls (header injection) or encoded-word
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
_BOUNDARY_ID = re.compile(r"[A-Za-z0-9_.-]{1,50}")


def encoded_words(value: str) -> bytes:
    """`value` as UTF-8 base64 encoded words, folded one per line."""
    data = value.encode()
    words: list[bytes] = []
    start = 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # not inside a character
            end -= 1
        chunk = binascii.b2a_base64(data[start:end], newline=False)
        words.append(b"=?utf-8?b?" + chunk + b"?=")
        start = end
    return b"\r\n ".join(words) or b""


def header(name: str, value: str) -> bytes:
    """One unstructured header line (Subject), encoded and folded as it needs."""
    if value.isascii() and not _UNSAFE.search(value):
        line = f"{name}: {value}"
        if len(line) <= FOLD_AT:
            return line.encode() + CRLF
        folded = _fold_at_spaces(line)
        if folded is not None:
            return folded + CRLF
    return name.encode() + b": " + encoded_words(value) + CRLF


def _fold_at_spaces(line: str) -> bytes | None:
    """The ASCII `Name: value` line folded before spaces; None when a piece stays too long."""
    name, *pieces = line.split(" ")
    lines = [f"{name} {pieces[0]}"]  # the value starts on the name's line
    for piece in pieces[1:]:
        if len(lines[-1]) + 1 + len(piece) <= FOLD_AT or not lines[-1].strip():
            lines[-1] += " " + piece
        else:
            lines.append(" " + piece)
    if any(len(x) > MAX_LINE for x in lines):
        return None
    return "\r\n".join(lines).encode()


def plain_header(name: str, value: str) -> bytes | None:
    """A header whose value must go as it is (an address, an id, a URL); None when it
    cannot (not ASCII, a control character, too long)."""
    if not value.isascii() or _UNSAFE.search(value) or len(name) + 2 + len(value) > MAX_LINE:
        return None
    return f"{name}: {value}".encode() + CRLF


def plain_address(address: str) -> bool:
    return _PLAIN_ADDRESS.fullmatch(address) is not None


def body_part(subtype: str, text: str) -> tuple[bytes, bytes]:
    """A text part's headers and body: 7bit when it can, else base64 of its UTF-8."""
    lines = text.encode().splitlines()
    data = CRLF.join(lines) + CRLF
    if data.isascii() and max(map(len, lines), default=0) <= MAX_LINE:
        cte, body = b"7bit", data
    else:
        cte, body = b"base64", base64.encodebytes(data).replace(b"\n", CRLF)
    headers = (
        b"Content-Type: text/" + subtype.encode() + b'; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: " + cte + CRLF
    )
    return headers, body


def compose(
    delivery: Delivery, from_line: bytes, message_id: str, *, date: str | None = None
) -> bytes | None:
    """The message's bytes (CRLF line ends), or None when it needs the stdlib composer.
    `from_line` is the sender's encoded `From:` line, made once per relay."""
    top = [from_line]
    for name, value in (("To", delivery.recipient), ("Message-ID", message_id)):
        line = plain_header(name, value)
        if line is None:
            return None
        top.append(line)
    if not plain_address(delivery.recipient):
        return None
    top.append(header("Subject", delivery.subject or ""))
    top.append(b"Date: " + (date or formatdate(usegmt=True)).encode() + CRLF)
    if delivery.unsubscribe_url:  # RFC 8058 one-click: mail clients show "Unsubscribe"
        line = plain_header("List-Unsubscribe", f"<{delivery.unsubscribe_url}>")
        if line is None:
            return None
        top.append(line)
        top.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    top.append(b"MIME-Version: 1.0\r\n")
    text_headers, text_body = body_part("plain", delivery.text)
    if not delivery.html:
        return b"".join((*top, text_headers, CRLF, text_body))
    html_headers, html_body = body_part("html", delivery.html)
    if _BOUNDARY_ID.fullmatch(delivery.message_id) is None:
        return None
    boundary = b"=_alt_" + delivery.message_id.encode()
    if boundary in text_body or boundary in html_body:
        return None
    top.append(b'Content-Type: multipart/alternative; boundary="' + boundary + b'"\r\n')
    delimiter = b"--" + boundary
    return b"".join(
        (
            *top,
            CRLF,
            delimiter + CRLF,
            text_headers,
            CRLF,
            text_body,
            CRLF + delimiter + CRLF,
            html_headers,
            CRLF,
            html_body,
            CRLF + delimiter + b"--" + CRLF,
        )
    )
