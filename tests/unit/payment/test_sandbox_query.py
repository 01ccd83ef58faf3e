"""The sandbox answers a reconciliation query with the callback it was told to send."""

from __future__ import annotations

from services.payment.providers.base import SessionRequest
from services.payment.providers.sandbox import SandboxProvider
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod


async def test_the_sandbox_reports_what_it_was_told_whether_or_not_the_callback_came() -> None:
    sandbox = SandboxProvider(
        secret="s", public_url="http://sandbox", webhook_url="http://127.0.0.1:9/none"
    )
    request = SessionRequest(
        "ord_q", "pat_q", PaymentMethod.CARD, Money(amount=900, currency="CNY"), None
    )
    opened = await sandbox.create_session(request)
    assert await sandbox.query(opened.session_id, "pat_q") is None
    session = sandbox.session(opened.session_id)
    assert session is not None
    told = sandbox.complete(session, outcome="succeed", reason=None, delay_seconds=3600)
    try:
        found = await sandbox.query(opened.session_id, "pat_q")
    finally:
        for task in list(sandbox._sending):
            task.cancel()
    assert found is not None
    assert (found.event_id, found.outcome, found.order_id) == (
        told["event_id"],
        "succeeded",
        "ord_q",
    )
    assert found.amount == Money(amount=900, currency="CNY")
