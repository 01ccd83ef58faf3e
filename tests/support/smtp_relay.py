"""A real SMTP relay for tests: aiosmtpd with TLS (STARTTLS or implicit, a certificate
from a CA made for the test run) and AUTH required, recording what it took and scripting
its faults."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as Server
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from deploy.local.ports import free_ports
from tests.support.tls import Certificates

HANG_SECONDS = 2.0  # longer than the client waits in the fault tests
USER, PASSWORD = "fulfil-notify", "relay-password-made-in-the-test"


@dataclass
class Relay:
    """What the relay saw: logins tried and let in, messages taken."""

    port: int
    logins: int = 0
    refused: int = 0
    messages: list[Envelope] = field(default_factory=list)
    over_tls: list[bool] = field(default_factory=list)  # per message: was its session TLS
    # the answers to the next DATA commands: "451", "554", "hang" (no answer), "lost"
    # (the message taken, then the connection dropped before the 250)
    faults: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def authenticate(
        self, server: Server, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        good = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        with self.lock:
            if good:
                self.logins += 1
            else:
                self.refused += 1
        return AuthResult(success=good, handled=False)  # aiosmtpd answers 235/535

    async def handle_DATA(self, server: Server, session: Session, envelope: Envelope) -> str:
        with self.lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault in ("451", "554"):
            return "451 4.3.0 Try again later" if fault == "451" else "554 5.7.1 Rejected"
        if fault == "hang":
            await asyncio.sleep(HANG_SECONDS)
            return "451 4.4.2 Too late"
        with self.lock:
            self.messages.append(envelope)
            self.over_tls.append(server.transport.get_extra_info("ssl_object") is not None)
        if fault == "lost":
            server.transport.abort()
        return "250 OK"


def running_relay(certificates: Certificates, *, implicit: bool) -> Iterator[Relay]:
    [port] = free_ports(1)
    relay = Relay(port)
    tls = certificates.server_context()
    options: dict[str, Any] = (
        # the whole connection is TLS: aiosmtpd only knows to offer AUTH when told
        {"ssl_context": tls, "auth_require_tls": False}
        if implicit
        else {"tls_context": tls, "require_starttls": True}
    )
    controller = Controller(
        relay,
        hostname="127.0.0.1",
        port=port,
        authenticator=relay.authenticate,
        auth_required=True,
        **options,
    )
    controller.start()
    try:
        yield relay
    finally:
        controller.stop()
