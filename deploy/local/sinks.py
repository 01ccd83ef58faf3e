"""Sinks for the local stack and the tests: a real SMTP server and an HTTP SMS gateway.

Both keep what they receive (in memory and as JSON lines under a directory),
recognise a message delivered twice by its idempotency key (email
`Message-ID`, SMS `Idempotency-Key`) and keep only the first, and can be told
to refuse the next deliveries, transiently or for good, to exercise retries.
`GET /messages` on the HTTP port lists what both received.

    python -m deploy.local.sinks --smtp-port 8025 --http-port 8026 --dir .local/sinks
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

LOOPBACK = "127.0.0.1"
KEPT_HEADERS = ("List-Unsubscribe", "List-Unsubscribe-Post")
# The compat32 parser: a tenth of the default policy's cost, and all a sink needs (the
# header values it records are decoded below).
_PARSER = BytesParser()
_FOLD = re.compile(r"\r?\n(?=[ \t])")


@dataclass
class FailRule:
    count: int
    permanent: bool = False
    to: str | None = None


@dataclass
class SinkStore:
    directory: Path | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0
    duplicates: int = 0
    smtp_sessions: int = 0  # SMTP connections accepted, to see a sender reuse them
    drop_next_mail: int = 0  # the next MAIL commands drop their connection, unanswered
    _live: set[SMTP] = field(default_factory=set)
    _keys: set[tuple[str, str]] = field(default_factory=set)
    _rules: dict[str, list[FailRule]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        for channel in ("email", "sms"):
            path = self.directory / f"{channel}.jsonl"
            if path.exists():
                for line in path.read_text().splitlines():
                    self._remember(json.loads(line))

    def _remember(self, record: dict[str, Any]) -> None:
        self.received.append(record)
        self._keys.add((record["channel"], record["key"]))

    @property
    def open_smtp_sessions(self) -> int:
        return len(self._live)

    def fail_next(self, channel: str, rule: FailRule) -> None:
        self._rules.setdefault(channel, []).append(rule)

    def should_fail(self, channel: str, recipient: str) -> FailRule | None:
        for rule in self._rules.get(channel, []):
            if rule.count > 0 and rule.to in (None, recipient):
                rule.count -= 1
                self.rejected += 1
                return rule
        return None

    def accept(self, channel: str, key: str, record: dict[str, Any]) -> bool:
        """Keeps the record; False (and nothing kept) when this key was delivered before."""
        if (channel, key) in self._keys:
            self.duplicates += 1
            return False
        record = {"channel": channel, "key": key, "received_at": _now(), **record}
        self._remember(record)
        if self.directory is not None:
            with (self.directory / f"{channel}.jsonl").open("a") as out:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return True

    def messages(self, channel: str | None = None, to: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.received
            if (channel is None or r["channel"] == channel) and (to is None or r["to"] == to)
        ]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _text(value: str | None) -> str:
    """A raw header value unfolded, its encoded words decoded."""
    if value is None:
        return ""
    unfolded = _FOLD.sub("", str(value))
    if "=?" not in unfolded:
        return unfolded
    return str(make_header(decode_header(unfolded)))


def _parts(message: Message) -> tuple[str, str | None]:
    """The first text/plain and text/html parts, decoded (as `get_body` would find them
    in a text message with an HTML alternative)."""
    found: dict[str, str] = {}
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("text/plain", "text/html") and kind not in found:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            charset = part.get_content_charset() or "utf-8"
            found[kind] = payload.decode(charset, "replace").replace("\r\n", "\n")
    return found.get("text/plain", ""), found.get("text/html")


class SinkSMTP(SMTP):
    """The SMTP server, counting its sessions (and able to drop them) in the store."""

    def __init__(self, handler: SmtpHandler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.store = handler.store

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.store.smtp_sessions += 1
        self.store._live.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self.store._live.discard(self)
        super().connection_lost(error)


class SmtpHandler:
    def __init__(self, store: SinkStore) -> None:
        self.store = store

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.store.drop_next_mail > 0:  # as a relay that dropped an idle session
            self.store.drop_next_mail -= 1
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()
            return "421 4.4.2 Connection dropped"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        to = ", ".join(envelope.rcpt_tos)
        rule = self.store.should_fail("email", to)
        if rule is not None:
            return "550 5.1.1 Mailbox unavailable" if rule.permanent else "451 4.3.0 Try later"
        key, record = read_email(raw)
        self.store.accept("email", key or f"nokey-{len(self.store.received)}", {"to": to, **record})
        return "250 OK"


def read_email(raw: bytes) -> tuple[str, dict[str, Any]]:
    """What the sink keeps of an email: its key (the Message-ID's local part), and its
    subject, text, HTML and unsubscribe headers, decoded."""
    message = _PARSER.parsebytes(raw)
    key = _text(message.get("Message-ID")).strip().strip("<>").split("@")[0]
    text, html = _parts(message)
    headers = {h: _text(message[h]) for h in KEPT_HEADERS if h in message}
    subject = _text(message.get("Subject"))
    return key, {"subject": subject, "text": text, "html": html, "headers": headers}


def http_app(store: SinkStore) -> FastAPI:
    app = FastAPI(title="notify sinks")

    @app.post("/sms")
    async def sms(request: Request) -> JSONResponse:
        body = await request.json()
        key = request.headers.get("Idempotency-Key") or body.get("message_id")
        if not key or not body.get("to") or not body.get("text"):
            return JSONResponse({"error": "to, text and Idempotency-Key are required"}, 422)
        rule = store.should_fail("sms", body["to"])
        if rule is not None:
            status = 400 if rule.permanent else 503
            return JSONResponse({"error": "refused by the sink, as instructed"}, status)
        fresh = store.accept("sms", key, {"to": body["to"], "text": body["text"]})
        return JSONResponse({"accepted": True, "duplicate": not fresh})

    @app.get("/messages")
    async def messages(channel: str | None = None, to: str | None = None) -> dict[str, Any]:
        found = store.messages(channel, to)
        return {
            "count": len(found),
            "duplicates": store.duplicates,
            "smtp_sessions": store.smtp_sessions,
            "messages": found,
        }

    @app.post("/fail")
    async def fail(request: Request) -> dict[str, Any]:
        body = await request.json()
        rule = FailRule(int(body.get("count", 1)), bool(body.get("permanent")), body.get("to"))
        store.fail_next(body["channel"], rule)
        return {"channel": body["channel"], "count": rule.count, "permanent": rule.permanent}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    return app


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        return None


class Sinks:
    """Both sinks in the running event loop; `start`, use `store`, then `stop`."""

    def __init__(self, smtp_port: int, http_port: int, directory: Path | None = None) -> None:
        self.smtp_port = smtp_port
        self.http_port = http_port
        self.store = SinkStore(directory)
        self._smtp: asyncio.Server | None = None
        self._http: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def http_url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    async def start(self) -> Sinks:
        loop = asyncio.get_running_loop()
        handler = SmtpHandler(self.store)
        self._smtp = await loop.create_server(
            lambda: SinkSMTP(handler, hostname="sink.local", ident="notify sink"),
            LOOPBACK,
            self.smtp_port,
        )
        config = uvicorn.Config(
            http_app(self.store),
            host=LOOPBACK,
            port=self.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self._http = _Server(config)
        self._task = asyncio.ensure_future(self._http.serve())
        while not self._http.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        if self._http is not None and self._task is not None:
            self._http.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)
        if self._smtp is not None:
            self._smtp.close()
            await self._smtp.wait_closed()


async def _serve(args: argparse.Namespace) -> None:
    sinks = await Sinks(args.smtp_port, args.http_port, args.dir).start()
    print(f"smtp sink on {LOOPBACK}:{args.smtp_port}; sms sink on {sinks.http_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sinks.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smtp-port", type=int, default=8025)
    parser.add_argument("--http-port", type=int, default=8026)
    parser.add_argument("--dir", type=Path, default=Path(".local/sinks"))
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
