"""Payment requests: an attempt is recorded, its provider session opened after the commit.

The attempt is recorded as pending with the call that opens its session (keyed by the
attempt id, which derives from the event that asked for it); the effects worker opens
the session outside any transaction, then records its links and publishes
PaymentRequested. Cash on delivery needs no session and is requested at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from typing import Any

import asyncpg

from services.payment import repository as repo
from services.payment.deps import Deps
from services.payment.domain import (
    Attempt,
    AttemptStatus,
    PaymentState,
    Retry,
    new_attempt,
    new_id,
    payment_requested,
    payment_status,
    retry_refusal,
)
from services.payment.domain.pay_links import pay_link
from services.payment.providers import ProviderError, Session, SessionRequest
from services.payment.steps.charges import fail_attempt
from shared import effects
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.effects import Effect, EffectError, Performer, derived_id
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)
SESSION = "payment_session"


async def open_attempt(
    unit: Unit[Deps],
    payment: PaymentState,
    method: PaymentMethod,
    *,
    first: bool = False,
    cause: str | None = None,
) -> Attempt:
    """Opens a payment request for `method`; the customer is told how to pay once the
    provider's session is open (at once for cash on delivery). The `first` request of a
    payment just recorded with `method` has nothing before it to number after or close.
    Its id derives from `cause`, else from the message being handled."""
    cause = cause or unit.causation_id
    number = 1 if first else await repo.next_attempt_number(unit.conn, payment.order_id)
    attempt = new_attempt(
        payment,
        method,
        attempt_id=derived_id("pat", cause, method.value) if cause else new_id("pat"),
        number=number,
        provider=unit.deps.provider_for(method).name,
        now=unit.now,
    )
    if not first:
        await repo.close_live_attempts(
            unit.conn, payment.order_id, AttemptStatus.SUPERSEDED, unit.now
        )
    await repo.insert_attempt(unit.conn, attempt)
    if not first:
        await repo.set_method(unit.conn, payment.order_id, method.value, unit.now)
    if attempt.status == AttemptStatus.OPEN:  # cash on delivery: nothing to open
        requested = payment_requested(attempt, payment.amount, payment.currency, None)
        await unit.emit(requested, order_id=attempt.order_id)
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


async def pay_again(unit: Unit[Deps], order_id: str, method: PaymentMethod) -> Retry | None:
    """A new payment request while the order is unpaid and its window open; None for an
    order payment does not know."""
    payment = await repo.get_payment(unit.conn, order_id, lock=True)
    if payment is None:
        return None
    refusal = retry_refusal(payment, unit.now)
    if refusal is None:
        return Retry(payment, attempt=await open_attempt(unit, payment, method))
    totals = await repo.totals(unit.conn, order_id)
    attempts = await repo.attempts_of(unit.conn, order_id)
    status = payment_status(payment, totals, attempts[-1].status if attempts else None)
    return Retry(payment, refusal=refusal, status=status)


def _expires_at(effect: Effect) -> datetime | None:
    due = effect.payload["expires_at"]
    return datetime.fromisoformat(due) if due else None


async def _call(deps: Deps, effect: Effect) -> Session:
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
        raise EffectError(
            exc.reason, permanent=not exc.transient, retry_after=exc.retry_after
        ) from exc


async def _opened(unit: Unit[Deps], effect: Effect, session: Any) -> None:
    """The session is open: its links are kept and, unless the attempt was superseded or
    expired meanwhile, the customer is told how to pay."""
    assert isinstance(session, Session)
    checkout_url, link = _links(unit.deps, effect, session)
    links = (session.session_id, checkout_url, link)
    found = await repo.open_session(unit.conn, effect.key, links, unit.now)
    if found is None:
        return
    attempt, pending = found
    if pending:
        opened = replace(attempt, checkout_url=checkout_url, pay_link=link)
        p = effect.payload
        requested = payment_requested(opened, p["amount"], p["currency"], _expires_at(effect))
        await unit.emit(requested, order_id=opened.order_id)


def _links(deps: Deps, effect: Effect, session: Session) -> tuple[str | None, str | None]:
    """The attempt's checkout URL and pay-for-me link. A real provider's page takes any
    payer who has its URL: pay-for-me shares our short link to it instead (it outlives the
    session; services/payment/domain/pay_links.py). The sandbox's page is such a link."""
    p = effect.payload
    provider = deps.provider(p["provider"])
    if p["method"] != PaymentMethod.PAY_FOR_ME.value or getattr(provider, "hosts_pay_links", False):
        return session.checkout_url, session.pay_link
    secret = deps.settings.order_token_secret.get_secret_value()
    link = pay_link(deps.settings.base_url, secret, p["order_id"])
    return session.checkout_url or session.pay_link, link


async def _not_opened(unit: Unit[Deps], effect: Effect, reason: str, will_retry: bool) -> None:
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


async def when_opened(pool: asyncpg.Pool, attempt_id: str, timeout: float) -> Attempt | None:
    """The attempt once its session is open (or it failed), for a caller that waits."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with pool.acquire() as conn:
            attempt = await repo.attempt_by_id(conn, attempt_id)
        if attempt is None or attempt.status != AttemptStatus.PENDING:
            return attempt
        if asyncio.get_running_loop().time() >= deadline:
            return attempt
        await asyncio.sleep(0.02)
