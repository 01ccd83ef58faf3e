"""Payment requests: an attempt is recorded, its provider session opened after the commit.

The attempt is recorded as pending with the call that opens its session (keyed by the
attempt id, which derives from the event that asked for it); the effects worker opens
the session outside any transaction, then records its links and publishes
PaymentRequested. Cash on delivery needs no session and is requested at once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from services.payment import repository as repo
from services.payment.charges import fail_attempt
from services.payment.deps import PaymentDeps, new_id
from services.payment.domain import (
    Attempt,
    AttemptStatus,
    PaymentState,
)
from services.payment.providers import ProviderError, Session, SessionRequest
from shared import effects
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.payment import PaymentRequested
from shared.effects import Effect, EffectError, Performer, derived_id
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)
COURIER = "courier"  # who collects cash on delivery
SESSION = "payment_session"


async def open_attempt(unit: Unit, payment: PaymentState, method: PaymentMethod) -> Attempt:
    """Opens a payment request for `method`; the customer is told how to pay once the
    provider's session is open (at once for cash on delivery)."""
    deps: PaymentDeps = unit.deps
    cash = method == PaymentMethod.CASH_ON_DELIVERY
    cause = unit.causation_id
    attempt = Attempt(
        attempt_id=derived_id("pat", cause, method.value) if cause else new_id("pat"),
        order_id=payment.order_id,
        number=await repo.next_attempt_number(unit.conn, payment.order_id),
        method=method,
        provider=COURIER if cash else deps.provider().name,
        session_id=None,
        checkout_url=None,
        pay_link=None,
        status=AttemptStatus.OPEN if cash else AttemptStatus.PENDING,
        failure_reason=None,
        created_at=unit.now,
    )
    await repo.close_live_attempts(unit.conn, payment.order_id, AttemptStatus.SUPERSEDED, unit.now)
    await repo.insert_attempt(unit.conn, attempt)
    await repo.set_method(unit.conn, payment.order_id, method.value, unit.now)
    if cash:
        await _requested(unit, attempt, payment.amount, payment.currency, None)
        return attempt
    due = payment.payment_due_at.isoformat() if payment.payment_due_at else None
    payload = {
        "order_id": attempt.order_id,
        "method": method.value,
        "provider": attempt.provider,
        "amount": payment.amount,
        "currency": payment.currency,
        "expires_at": due,
    }
    await effects.record(unit, SESSION, attempt.attempt_id, payload)
    return attempt


async def _requested(
    unit: Unit, attempt: Attempt, amount: int, currency: str, expires_at: datetime | None
) -> None:
    await unit.emit(
        PaymentRequested(
            attempt_id=attempt.attempt_id,
            method=attempt.method,
            amount=Money(amount=amount, currency=currency),
            checkout_url=attempt.checkout_url,
            pay_link=attempt.pay_link,
            expires_at=expires_at,
        ),
        order_id=attempt.order_id,
    )


def _expires_at(effect: Effect) -> datetime | None:
    due = effect.payload["expires_at"]
    return datetime.fromisoformat(due) if due else None


async def _call(deps: PaymentDeps, effect: Effect) -> Session:
    """Outside any transaction: the provider opens the session (idempotent on the attempt)."""
    p = effect.payload
    request = SessionRequest(
        p["order_id"],
        effect.key,
        PaymentMethod(p["method"]),
        Money(amount=p["amount"], currency=p["currency"]),
        _expires_at(effect),
    )
    try:
        return await deps.provider(p["provider"]).create_session(request)
    except ProviderError as exc:
        raise EffectError(exc.reason, permanent=not exc.transient) from exc


async def _opened(unit: Unit, effect: Effect, session: Any) -> None:
    """The session is open: its links are kept and, unless the attempt was superseded or
    expired meanwhile, the customer is told how to pay."""
    assert isinstance(session, Session)
    attempt = await repo.attempt_by_id(unit.conn, effect.key)
    if attempt is None:
        return
    pending = attempt.status == AttemptStatus.PENDING
    status = AttemptStatus.OPEN if pending else attempt.status
    links = (session.session_id, session.checkout_url, session.pay_link)
    await repo.set_session(unit.conn, attempt.attempt_id, links, status, unit.now)
    if pending:
        opened = Attempt(
            **{**vars(attempt), "checkout_url": session.checkout_url, "pay_link": session.pay_link}
        )
        p = effect.payload
        await _requested(unit, opened, p["amount"], p["currency"], _expires_at(effect))


async def _not_opened(unit: Unit, effect: Effect, reason: str, will_retry: bool) -> None:
    """Given up: the attempt failed, and the customer may try again while the window is open."""
    if will_retry:
        log.warning("payment session not opened yet", attempt_id=effect.key, error=reason)
        return
    attempt = await repo.attempt_by_id(unit.conn, effect.key)
    payment = await repo.get_payment(unit.conn, effect.payload["order_id"], lock=True)
    if attempt is None or payment is None or attempt.status != AttemptStatus.PENDING:
        return
    await fail_attempt(unit, payment, attempt, reason)


OPENER = Performer(call=_call, done=_opened, failed=_not_opened)


async def when_opened(unit_pool: Any, attempt_id: str, timeout: float) -> Attempt | None:
    """The attempt once its session is open (or it failed), for a caller that waits."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with unit_pool.acquire() as conn:
            attempt = await repo.attempt_by_id(conn, attempt_id)
        if attempt is None or attempt.status != AttemptStatus.PENDING:
            return attempt
        if asyncio.get_running_loop().time() >= deadline:
            return attempt
        await asyncio.sleep(0.02)
