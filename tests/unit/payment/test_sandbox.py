"""The sandbox provider: signed sessions, verified callbacks, idempotent and failing refunds."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from aiohttp import web

from deploy.local.ports import LOOPBACK, free_port
from services.payment.providers import InvalidCallback, MalformedCallback, ProviderError
from services.payment.providers import sandbox as sandbox_module
from services.payment.providers.base import SessionRequest
from services.payment.providers.sandbox import SandboxProvider
from shared import signing
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod

SECRET = "dev-webhook-secret"


def sandbox() -> SandboxProvider:
    return SandboxProvider(
        secret=SECRET, public_url="http://pay.test/", webhook_url="http://pay.test/v1/webhooks/s"
    )


def request(method: PaymentMethod) -> SessionRequest:
    return SessionRequest("ord_1", "pat_1", method, Money(amount=990, currency="CNY"), None)


async def test_a_session_carries_its_order_and_amount_and_cannot_be_forged() -> None:
    provider = sandbox()
    session = await provider.create_session(request(PaymentMethod.CARD))
    assert session.checkout_url == f"http://pay.test/sandbox/checkout/{session.session_id}"
    assert session.pay_link is None
    opened = provider.session(session.session_id)
    assert opened is not None
    assert (opened.order_id, opened.attempt_id, opened.amount.amount) == ("ord_1", "pat_1", 990)
    blob, _, mac = session.session_id.partition(".")
    assert provider.session(f"{blob}x.{mac}") is None
    assert provider.session("garbage") is None


async def test_pay_for_me_gets_a_shareable_link_instead_of_a_checkout() -> None:
    session = await sandbox().create_session(request(PaymentMethod.PAY_FOR_ME))
    assert session.checkout_url is None
    assert session.pay_link == f"http://pay.test/sandbox/pay/{session.session_id}"


def body(**overrides: object) -> bytes:
    values = {
        "id": "evt_1",
        "type": "payment.failed",
        "session_id": "s",
        "order_id": "ord_1",
        "attempt_id": "pat_1",
        "amount": {"amount": 990, "currency": "CNY"},
        "reason": "bank_limit",
        "occurred_at": "2026-11-11T12:00:00+00:00",
    }
    return json.dumps({**values, **overrides}).encode()


def test_a_signed_callback_is_read_and_anything_else_is_refused() -> None:
    provider = sandbox()
    raw = body()
    callback = provider.verify_callback({signing.HEADER: signing.sign(SECRET, raw)}, raw)
    assert (callback.outcome, callback.reason, callback.event_id) == (
        "failed",
        "bank_limit",
        "evt_1",
    )
    with pytest.raises(InvalidCallback):
        provider.verify_callback({signing.HEADER: signing.sign("other", raw)}, raw)
    with pytest.raises(InvalidCallback):
        stale = signing.sign(SECRET, raw, int(time.time()) - 3600)
        provider.verify_callback({signing.HEADER: stale}, raw)
    with pytest.raises(InvalidCallback):
        provider.verify_callback({}, raw)
    odd = body(type="payment.maybe")
    with pytest.raises(MalformedCallback):
        provider.verify_callback({signing.HEADER: signing.sign(SECRET, odd)}, odd)


async def test_refunds_are_idempotent_and_can_be_made_to_fail() -> None:
    provider = sandbox()
    money = Money(amount=100, currency="CNY")
    provider.fail_next_refunds(1, "provider_unavailable")
    with pytest.raises(ProviderError) as failed:
        await provider.refund("ch_1", money, idempotency_key="rfd_1")
    assert failed.value.transient and failed.value.reason == "provider_unavailable"
    first = await provider.refund("ch_1", money, idempotency_key="rfd_1")
    again = await provider.refund("ch_1", money, idempotency_key="rfd_1")
    assert first == again
    assert first != await provider.refund("ch_1", money, idempotency_key="rfd_2")


async def test_a_callback_refused_while_the_service_is_down_is_delivered_once_it_is_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real provider retries for days: ten refusals (a payment service whose database is
    down answers 503) do not make the sandbox give up."""
    monkeypatch.setattr(sandbox_module, "capped_backoff", lambda *_: timedelta(0))
    answers = [503] * 10 + [200]
    seen: list[tuple[bytes, str | None, str | None]] = []

    async def webhook(request: web.Request) -> web.Response:
        headers = request.headers
        seen.append(
            (await request.read(), headers.get("Content-Type"), headers.get(signing.HEADER))
        )
        return web.Response(status=answers.pop(0))

    app = web.Application()
    app.router.add_post("/v1/webhooks/sandbox", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    provider = SandboxProvider(
        secret=SECRET,
        public_url="http://pay.test/",
        webhook_url=f"http://{LOOPBACK}:{port}/v1/webhooks/sandbox",
    )
    try:
        await provider._deliver(b'{"id": "evt_1"}')
    finally:
        await provider.http.aclose()
        await runner.cleanup()
    assert len(seen) == 11 and not answers
    body, content_type, signature = seen[-1]
    assert (body, content_type) == (b'{"id": "evt_1"}', "application/json")
    signing.verify(SECRET, signature, body, tolerance=300)
