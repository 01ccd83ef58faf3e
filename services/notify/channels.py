"""Channel adapters: email over SMTP, SMS through an HTTP gateway.

Each delivery carries the message id as its idempotency key (email
`Message-ID`, SMS `Idempotency-Key` header), so a message sent again after a
crash between sending and recording is recognised by the receiving side.
Failures raise ChannelError, telling a permanent refusal (retrying cannot help)
from a transient one (retry later).
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Literal, Protocol

import aiosmtplib

from services.notify import mime
from services.notify.smtp_pool import NotSent, SmtpPool
from shared.http_client import KeptAlive, Send, Unreachable

MESSAGE_ID_DOMAIN = "notify.fulfil"


SmtpSecurity = Literal["none", "starttls", "tls"]


class ChannelError(Exception):
    """Why a delivery did not go; `retry_after` is the soonest the provider wants a retry
    (an HTTP 429's `Retry-After`), in seconds."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Delivery:
    message_id: str
    channel: str
    recipient: str
    text: str
    subject: str | None = None
    html: str | None = None
    unsubscribe_url: str | None = None  # a non-essential email's one-click unsubscribe
    template: str | None = None  # our template's name (an SMS provider maps it to its own)
    order_id: str | None = None
    # 1 the first time; a later one may follow an answer that was lost, or a sender that
    # stopped between the call and recording its outcome
    attempt: int = 1


class Channel(Protocol):
    async def send(self, delivery: Delivery) -> None: ...

    async def aclose(self) -> None:
        """Ends the channel's connections (at shutdown)."""


def message_id_header(message_id: str) -> str:
    return f"<{message_id}@{MESSAGE_ID_DOMAIN}>"


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Certificates verified, host names checked: against the system's CAs, or only the
    private CA in `ca_file`."""
    return ssl.create_default_context(cafile=ca_file)


class SmtpEmail:
    """Email through one SMTP relay, over a small pool of reused sessions (smtp_pool).

    `security`: "tls" speaks TLS from the first byte (implicit TLS, port 465), "starttls"
    upgrades the session before anything else (and refuses a relay that does not offer
    it), "none" is plain text (the local sink). With a username, each session logs in
    (AUTH) once when it opens; the pool then carries message after message on it."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        timeout: float = 10.0,
        username: str | None = None,
        password: str | None = None,
        pool_size: int = 8,
        idle_seconds: float = 30.0,
        security: SmtpSecurity = "none",
        ca_file: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        self.username = username
        self.password = password
        self.security = security
        self.tls = tls_context(ca_file) if security != "none" else None
        # aiosmtplib would otherwise look the name up (getfqdn) on every connection
        self.local_hostname = socket.getfqdn()
        self.envelope_from = parseaddr(sender)[1]
        # the From line once, encoded by the stdlib however the sender's name needs
        self.from_line = policy.SMTP.fold("From", policy.SMTP.header_factory("From", sender))
        self.from_bytes = self.from_line.encode("ascii")
        self.pool = SmtpPool(self._open_session, size=pool_size, idle_seconds=idle_seconds)

    def compose(self, delivery: Delivery) -> bytes:
        """The message's bytes; the stdlib composes what the direct writer does not cover."""
        message_id = message_id_header(delivery.message_id)
        written = mime.compose(delivery, self.from_bytes, message_id)
        if written is not None:
            return written
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = delivery.recipient
        message["Subject"] = delivery.subject or ""
        message["Message-ID"] = message_id
        message["Date"] = formatdate(usegmt=True)
        if delivery.unsubscribe_url:  # RFC 8058 one-click: mail clients show "Unsubscribe"
            message["List-Unsubscribe"] = f"<{delivery.unsubscribe_url}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(delivery.text, cte="base64")
        if delivery.html:
            message.add_alternative(delivery.html, subtype="html", cte="base64")
        utf8 = not delivery.recipient.isascii()
        return message.as_bytes(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)

    async def _open_session(self) -> aiosmtplib.SMTP:
        smtp = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            start_tls=self.security == "starttls",
            use_tls=self.security == "tls",
            tls_context=self.tls,
            local_hostname=self.local_hostname,
            username=self.username,
            password=self.password,
        )
        try:
            await smtp.connect()  # greeting, EHLO, STARTTLS and AUTH as configured
        except BaseException:
            smtp.close()
            raise
        return smtp

    async def send(self, delivery: Delivery) -> None:
        data = self.compose(delivery)
        utf8 = not delivery.recipient.isascii()

        async def transaction(smtp: aiosmtplib.SMTP) -> None:
            await _mail(smtp, self.envelope_from, delivery.recipient, data, utf8=utf8)

        try:
            await self.pool.run(transaction)
        except aiosmtplib.SMTPAuthenticationError as exc:
            # the relay refused our credentials: every retry would be refused the same way
            raise ChannelError(f"SMTP AUTH refused ({exc.code})", permanent=True) from exc
        except aiosmtplib.SMTPRecipientRefused as exc:
            raise ChannelError(f"recipient refused: {exc}", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600
            raise ChannelError(f"SMTP {exc.code}: {exc.message}", permanent=permanent) from exc
        except ssl.SSLCertVerificationError as exc:
            raise ChannelError(f"SMTP relay's certificate refused: {exc}", permanent=True) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise ChannelError(f"SMTP unavailable: {exc!r}", permanent=False) from exc

    async def aclose(self) -> None:
        await self.pool.aclose()


async def _mail(
    smtp: aiosmtplib.SMTP, sender: str, recipient: str, data: bytes, *, utf8: bool
) -> None:
    """One mail transaction on an open session. A session lost (or closing, 421) before
    the content went out raises NotSent: nothing was delivered, another session may try."""
    encoding = "utf-8" if utf8 else "ascii"
    try:
        await smtp.mail(sender, options=["SMTPUTF8"] if utf8 else [], encoding=encoding)
        await smtp.rcpt(recipient, encoding=encoding)
    except aiosmtplib.SMTPServerDisconnected as exc:
        raise NotSent() from exc
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code == 421:
            smtp.close()
            raise NotSent() from exc
        await _reset(smtp)
        raise
    try:
        await smtp.data(data)
    except aiosmtplib.SMTPResponseException:
        await _reset(smtp)
        raise


async def _reset(smtp: aiosmtplib.SMTP) -> None:
    """Resets the envelope after a refusal, so the session can carry the next message."""
    try:
        await smtp.rset()
    except (aiosmtplib.SMTPException, OSError):
        smtp.close()


class HttpSmsGateway:
    """SMS through an HTTP gateway, on a kept-alive client of its own with as many
    connections as the sends the sender has in flight (`concurrency`): fewer would close
    and reopen connections on every pass."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        concurrency: int = 20,
        send: Send | None = None,
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.http = KeptAlive(timeout=timeout, concurrency=concurrency, send=send)

    async def send(self, delivery: Delivery) -> None:
        body = {"to": delivery.recipient, "text": delivery.text, "message_id": delivery.message_id}
        headers = {
            "Idempotency-Key": delivery.message_id,
            "Authorization": f"Bearer {self.api_key}",
        }
        try:
            response = await self.http.request("POST", self.url, json=body, headers=headers)
        except Unreachable as exc:
            raise ChannelError(f"SMS gateway unavailable: {exc}", permanent=False) from exc
        if response.status < 300:
            return
        transient = response.status >= 500 or response.status in (408, 429)
        raise ChannelError(
            f"SMS gateway {response.status}: {response.text[:200]}", permanent=not transient
        )

    async def aclose(self) -> None:
        await self.http.aclose()
