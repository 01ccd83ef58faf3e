"""Email to a relay that wants TLS and AUTH (a local aiosmtpd, with a certificate from a
private CA made for the test): STARTTLS or implicit TLS, the certificate verified, one
login per kept-open session; a refused password fails the message for good at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import Envelope

from services.notify.channels import ChannelError, Delivery, SmtpEmail
from tests.integration.notify.support import notify, order_placed
from tests.support.db import rows
from tests.support.events import new_order_id, send
from tests.support.infra import Infra
from tests.support.polling import eventually
from tests.support.smtp_relay import PASSWORD, USER, Relay, running_relay
from tests.support.tls import Certificates, make_certificates

# the implicit-TLS relay requires AUTH with aiosmtpd's TLS check off (the socket is TLS)
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
SENDER = "Fulfil Shop <orders@fulfil.example>"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def starttls_relay(certificates: Certificates) -> Iterator[Relay]:
    yield from running_relay(certificates, implicit=False)


@pytest.fixture
def tls_relay(certificates: Certificates) -> Iterator[Relay]:
    yield from running_relay(certificates, implicit=True)


def email(relay: Relay, certificates: Certificates, **options: Any) -> SmtpEmail:
    settings: dict[str, Any] = {
        "username": USER,
        "password": PASSWORD,
        "security": "starttls",
        "ca_file": str(certificates.ca_file),
        "pool_size": 1,
        **options,
    }
    return SmtpEmail("127.0.0.1", relay.port, SENDER, **settings)


def delivery(n: int, run: str) -> Delivery:
    return Delivery(f"ntf_{run}_{n}", "email", f"{run}.{n}@example.com", f"text {n}", subject="s")


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_messages_go_over_tls_on_one_session_that_logged_in_once(
    security: str, request: pytest.FixtureRequest, certificates: Certificates
) -> None:
    relay: Relay = request.getfixturevalue(f"{security}_relay")
    smtp, run = email(relay, certificates, security=security), new_order_id()
    try:
        for n in range(5):
            await smtp.send(delivery(n, run))
    finally:
        await smtp.aclose()
    assert [m.rcpt_tos for m in relay.messages] == [[f"{run}.{n}@example.com"] for n in range(5)]
    assert relay.logins == 1 and smtp.pool.opened == 1, "one session, one AUTH, five messages"
    assert relay.refused == 0
    assert relay.over_tls == [True] * 5


async def test_a_relay_whose_certificate_is_not_trusted_gets_nothing(
    starttls_relay: Relay, certificates: Certificates, tmp_path: Path
) -> None:
    stranger = make_certificates(tmp_path)  # another CA: the relay's certificate is unknown
    smtp = email(starttls_relay, certificates, ca_file=str(stranger.ca_file))
    try:
        with pytest.raises(ChannelError) as refused:
            await smtp.send(delivery(1, new_order_id()))
    finally:
        await smtp.aclose()
    assert refused.value.permanent and "certificate" in str(refused.value)
    assert starttls_relay.messages == [] and starttls_relay.logins == 0


async def test_a_refused_password_fails_the_message_for_good_without_retrying(
    starttls_relay: Relay, certificates: Certificates
) -> None:
    smtp = email(starttls_relay, certificates, password="not-the-password")
    try:
        with pytest.raises(ChannelError) as refused:
            await smtp.send(delivery(1, new_order_id()))
    finally:
        await smtp.aclose()
    assert refused.value.permanent
    assert starttls_relay.messages == []
    assert starttls_relay.refused == 2, "one session's login: PLAIN, then LOGIN, no more"


async def test_the_service_records_a_refused_login_as_failed_after_one_attempt(
    infra: Infra, database: str, sinks: Any, starttls_relay: Relay, certificates: Certificates
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id)
    async with notify(
        infra,
        database,
        sinks,
        smtp_port=starttls_relay.port,
        smtp_security="starttls",
        smtp_ca_file=str(certificates.ca_file),
        smtp_username=USER,
        smtp_password="not-the-password",
        sender_max_attempts=5,
    ) as runtime:
        await send(infra, placed, order_id)

        async def failed_email() -> list[dict[str, Any]]:
            return await rows(
                runtime,
                "SELECT status, attempts, last_error FROM messages"
                " WHERE order_id = $1 AND channel = 'email' AND status = 'failed'",
                order_id,
            )

        [message] = await eventually(failed_email, what="the email recorded as failed")
    assert message["attempts"] == 1, "a refused login is not retried"
    assert "AUTH" in message["last_error"]
    assert starttls_relay.refused == 2 and starttls_relay.messages == []


async def test_relay_faults_are_told_apart_and_a_lost_answer_resends_the_same_message_id(
    starttls_relay: Relay, certificates: Certificates
) -> None:
    """The relay answers 4xx (retry later), 5xx (refused for good), nothing (a timeout), or
    takes the message and drops the connection before its 250: the outcome is unknown,
    so the sender's retry sends it again with the same Message-ID, which lets the
    receiving side recognise it."""
    run = new_order_id()
    starttls_relay.faults = ["451", "554", "hang", "lost"]
    smtp = email(starttls_relay, certificates, timeout=0.5)
    outcomes = []
    try:
        for n in range(4):
            with pytest.raises(ChannelError) as refused:
                await smtp.send(delivery(n, run))
            outcomes.append(refused.value.permanent)
        await smtp.send(delivery(3, run))  # the sender's retry of the lost one
    finally:
        await smtp.aclose()
    assert outcomes == [False, True, False, False]
    taken = [m for m in starttls_relay.messages if m.rcpt_tos == [f"{run}.3@example.com"]]
    ids = {_message_id(m) for m in taken}
    assert len(taken) == 2 and ids == {f"<ntf_{run}_3@notify.fulfil>"}


def _message_id(envelope: Envelope) -> str:
    content = envelope.original_content or b""
    [line] = [h for h in content.split(b"\r\n") if h.lower().startswith(b"message-id:")]
    return line.split(b":", 1)[1].strip().decode()
