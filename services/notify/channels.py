"""Channel adapters: email over SMTP, SMS through an HTTP gateway.

Each delivery carries the message id as its idempotency key (email
`Message-ID`, SMS `Idempotency-Key` header), so a message sent again after a
crash between sending and recording is recognised by the receiving side.
Failures raise ChannelError, telling a permanent refusal (retrying cannot help)
from a transient one (retry later).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import aiosmtplib
import httpx

from shared import outbound

MESSAGE_ID_DOMAIN = "notify.fulfil"


class ChannelError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Delivery:
    message_id: str
    channel: str
    recipient: str
    text: str
    subject: str | None = None
    html: str | None = None
    unsubscribe_url: str | None = None  # a non-essential email's one-click unsubscribe


class Channel(Protocol):
    async def send(self, delivery: Delivery) -> None: ...


def message_id_header(message_id: str) -> str:
    return f"<{message_id}@{MESSAGE_ID_DOMAIN}>"


class SmtpEmail:
    def __init__(self, host: str, port: int, sender: str, *, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        # aiosmtplib would otherwise look the name up (getfqdn) on every connection
        self.local_hostname = socket.getfqdn()

    def compose(self, delivery: Delivery) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = delivery.recipient
        message["Subject"] = delivery.subject or ""
        message["Message-ID"] = message_id_header(delivery.message_id)
        message["Date"] = formatdate(usegmt=True)
        if delivery.unsubscribe_url:  # RFC 8058 one-click: mail clients show "Unsubscribe"
            message["List-Unsubscribe"] = f"<{delivery.unsubscribe_url}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(delivery.text)
        if delivery.html:
            message.add_alternative(delivery.html, subtype="html")
        return message

    async def send(self, delivery: Delivery) -> None:
        try:
            await aiosmtplib.send(
                self.compose(delivery),
                hostname=self.host,
                port=self.port,
                timeout=self.timeout,
                start_tls=False,
                use_tls=False,
                local_hostname=self.local_hostname,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise ChannelError(f"recipient refused: {exc}", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600
            raise ChannelError(f"SMTP {exc.code}: {exc.message}", permanent=permanent) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise ChannelError(f"SMTP unavailable: {exc!r}", permanent=False) from exc


class HttpSmsGateway:
    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.timeout = timeout
        self.client = client

    async def send(self, delivery: Delivery) -> None:
        body = {"to": delivery.recipient, "text": delivery.text, "message_id": delivery.message_id}
        headers = {
            "Idempotency-Key": delivery.message_id,
            "Authorization": f"Bearer {self.api_key}",
        }
        try:
            client = self.client or outbound.client()
            response = await client.post(self.url, json=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise ChannelError(f"SMS gateway unavailable: {exc!r}", permanent=False) from exc
        if response.status_code < 300:
            return
        transient = response.status_code >= 500 or response.status_code in (408, 429)
        raise ChannelError(
            f"SMS gateway {response.status_code}: {response.text[:200]}", permanent=not transient
        )
