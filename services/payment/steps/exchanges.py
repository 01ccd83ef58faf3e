"""Exchange charges: an exchange's price difference charged through a session of its own.

Accepted with a charge, the exchange's charge is recorded pending with the call that opens
its session (keyed by an attempt id derived from the exchange id); the effects worker opens
it after the commit, records its checkout URL and publishes ExchangePaymentRequested. Its
capture (routed here by `charges.apply_callback`, which finds no order attempt with that
session) is entered in the order's ledger and published as ExchangePaymentSucceeded; it
never touches the order's payment or attempts. Cancelled, the session is closed after the
commit, and a capture arriving after that is refunded at once (`late_payment`). A capture
whose callback is lost is found by reconciliation (steps/reconcile_exchanges.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from services.payment import repository as repo
from services.payment.deps import Deps
from services.payment.domain import PaymentState
from services.payment.domain.exchanges import (
    LATE,
    REFUND_REASONS,
    ExchangeCharge,
    ExchangeSettlement,
    ExchangeStatus,
    new_exchange_charge,
    payment_requested,
    session_method,
    settle_exchange_failure,
    settle_exchange_success,
)
from services.payment.providers import Callback, ProviderError, Session, SessionRequest
from services.payment.steps.refunds import start_refund
from shared import effects
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.returns import ExchangeAccepted
from shared.effects import Effect, EffectError, Performer, derived_id
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)
EXCHANGE_SESSION = "exchange_session"
EXCHANGE_CLOSE = "exchange_close"


async def exchange_accepted(
    unit: Unit[Deps], payment: PaymentState, accepted: ExchangeAccepted
) -> None:
    """Records the exchange's charge and the call that opens its session, once."""
    if accepted.settlement != "charge" or accepted.difference.amount <= 0:
        return
    method = session_method(payment.method, PaymentMethod(unit.deps.settings.exchange_method))
    charge = new_exchange_charge(
        exchange_id=accepted.exchange_id,
        attempt_id=derived_id("pxc", "exchange", accepted.exchange_id),
        order_id=payment.order_id,
        method=method,
        provider=unit.deps.provider_for(method).name,
        difference=accepted.difference,
        pay_by=accepted.pay_by,
        now=unit.now,
    )
    if not await repo.insert_exchange_charge(unit.conn, charge):
        return
    payload = {
        "order_id": charge.order_id,
        "exchange_id": charge.exchange_id,
        "method": method.value,
        "provider": charge.provider,
        "amount": charge.amount,
        "currency": charge.currency,
        "expires_at": charge.pay_by.isoformat() if charge.pay_by else None,
    }
    await effects.record(unit, EXCHANGE_SESSION, charge.attempt_id, payload)
    log.info("exchange charge recorded", exchange_id=charge.exchange_id, method=method.value)


async def exchange_cancelled(unit: Unit[Deps], exchange_id: str) -> None:
    """The exchange ended unpaid: its session is closed after the commit (or once it is
    open). A charge captured before returns heard of it is refunded as late."""
    charge = await repo.exchange_charge(unit.conn, exchange_id, lock=True)
    if charge is None or charge.status == ExchangeStatus.CANCELLED:
        return
    await repo.set_exchange_status(unit.conn, charge.attempt_id, ExchangeStatus.CANCELLED, unit.now)
    if charge.status == ExchangeStatus.SUCCEEDED:
        await _refund_late(unit, charge)
    elif charge.session_id is not None:
        await _close(unit, charge)
    log.info("exchange charge cancelled", exchange_id=exchange_id, was=charge.status.value)


async def apply_exchange_callback(
    unit: Unit[Deps], provider: str, found: ExchangeCharge, callback: Callback
) -> str:
    """Applies one verified provider callback about an exchange's session; its effect."""
    await repo.get_payment(unit.conn, found.order_id, lock=True)  # one order's money at a time
    charge = await repo.exchange_charge_by_attempt(unit.conn, found.attempt_id, lock=True)
    assert charge is not None
    if callback.outcome == "succeeded":
        settled = settle_exchange_success(
            charge,
            charged=await repo.charge_of(unit.conn, charge.attempt_id) is not None,
            amount=callback.amount,
            reference=callback.reference or callback.event_id,
            paid_at=callback.occurred_at,
            now=unit.now,
        )
    else:
        settled = settle_exchange_failure(charge, callback.reason or "unknown")
    claimed = await repo.claim_provider_event(
        unit.conn, provider, callback.event_id, charge.order_id, callback.outcome, settled.effect
    )
    if not claimed:
        return "duplicate"
    await _save(unit, charge, settled)
    log.info("exchange callback applied", exchange_id=charge.exchange_id, effect=settled.effect)
    return settled.effect


async def _save(unit: Unit[Deps], charge: ExchangeCharge, settled: ExchangeSettlement) -> None:
    if settled.entry is not None:
        await repo.add_entry(unit.conn, settled.entry)
    if settled.status is not None:
        await repo.set_exchange_status(
            unit.conn, charge.attempt_id, settled.status, unit.now, settled.failure_reason
        )
    if settled.event is not None:
        await unit.emit(settled.event, order_id=charge.order_id)
    if settled.refund > 0 and settled.entry is not None:
        reason = settled.refund_reason or settled.effect
        await start_refund(unit, settled.entry, settled.refund, reason=reason)


async def _refund_late(unit: Unit[Deps], charge: ExchangeCharge) -> None:
    entry = await repo.charge_of(unit.conn, charge.attempt_id)
    assert entry is not None, "a succeeded exchange charge has its capture in the ledger"
    left = entry.amount - await repo.refunding(unit.conn, charge.attempt_id)
    if left > 0:
        await start_refund(unit, entry, left, reason=REFUND_REASONS[LATE])


async def _close(unit: Unit[Deps], charge: ExchangeCharge) -> None:
    assert charge.session_id is not None
    payload = {"provider": charge.provider, "session_id": charge.session_id}
    await effects.record(unit, EXCHANGE_CLOSE, charge.attempt_id, payload)


# after the commit: opening the session


async def _open(deps: Deps, effect: Effect) -> Session:
    """Outside any transaction: the provider opens the session (idempotent on the attempt)."""
    p = effect.payload
    due = p["expires_at"]
    request = SessionRequest(
        p["order_id"],
        effect.key,
        PaymentMethod(p["method"]),
        Money(amount=p["amount"], currency=p["currency"]),
        datetime.fromisoformat(due) if due else None,
    )
    return await _calling(deps.provider(p["provider"]).create_session(request))


async def _opened(unit: Unit[Deps], effect: Effect, session: Any) -> None:
    """The session is open: the customer is told how to pay, unless the exchange was
    cancelled meanwhile (then the session is closed at once)."""
    assert isinstance(session, Session)
    url = session.checkout_url or session.pay_link
    opened = (session.session_id, url)
    found = await repo.exchange_session_opened(unit.conn, effect.key, *opened, unit.now)
    if found is None:
        return
    charge, pending = found
    if pending:
        await unit.emit(payment_requested(charge, url), order_id=charge.order_id)
    elif charge.status == ExchangeStatus.CANCELLED:
        await _close(unit, replace(charge, session_id=session.session_id))


async def _not_opened(unit: Unit[Deps], effect: Effect, reason: str, will_retry: bool) -> None:
    """Given up: the charge failed; the exchange is cancelled by returns when unpaid."""
    log.warning(
        "exchange session not opened", attempt_id=effect.key, error=reason, retry=will_retry
    )
    charge = await repo.exchange_charge_by_attempt(unit.conn, effect.key, lock=True)
    if not will_retry and charge is not None and charge.status == ExchangeStatus.PENDING:
        await repo.set_exchange_status(
            unit.conn, effect.key, ExchangeStatus.FAILED, unit.now, reason
        )


OPENER = Performer(call=_open, done=_opened, failed=_not_opened)


# after the commit: closing the session


async def _close_call(deps: Deps, effect: Effect) -> None:
    p = effect.payload
    await _calling(deps.provider(p["provider"]).close_session(p["session_id"], effect.key))


async def _closed(unit: Unit[Deps], effect: Effect, _result: Any) -> None:
    """Closed: reconciliation asks once more whether it was paid before (steps/reconcile)."""
    await repo.exchange_session_closed(unit.conn, effect.key, unit.now)
    log.info("exchange session closed", attempt_id=effect.key)


async def _not_closed(unit: Unit[Deps], effect: Effect, reason: str, will_retry: bool) -> None:
    """A session left open can still be paid: its capture is refunded as late, found by
    its callback or by reconciliation, which keeps asking while it is not closed."""
    log.warning(
        "exchange session not closed", attempt_id=effect.key, error=reason, retry=will_retry
    )


CLOSER = Performer(call=_close_call, done=_closed, failed=_not_closed)


async def _calling(call: Any) -> Any:
    try:
        return await call
    except ProviderError as exc:
        raise EffectError(
            exc.reason, permanent=not exc.transient, retry_after=exc.retry_after
        ) from exc
