"""The operations on exchanges that run inside a unit of work: load, decide
(domain.exchanges, domain.exchange_transitions), save once and emit. The handlers, the
pay-by timer and the HTTP views call them.

The order's row is locked before an exchange's, by every step here as by the refund
requests' steps, so an exchange and a request on one order never overlap. A refund an
exchange owes (a cheaper replacement's difference, or units received back for an exchange
cancelled unpaid) is a refund request opened through the refund machinery
(services.returns.steps.open_request), once per exchange by its idempotency key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial

from services.returns import exchange_repository as xrepo
from services.returns import metrics, steps
from services.returns import repository as repo
from services.returns.deps import Deps
from services.returns.domain import exchange_transitions as moves
from services.returns.domain.exchange_transitions import ExchangeOutcome, Refund
from services.returns.domain.exchanges import (
    Exchange,
    ExchangeAsk,
    decide_exchange,
    difference_refund,
    returned_units_refund,
)
from services.returns.domain.records import Audit
from shared.contracts.events.logistics import (
    ExchangeDelivered,
    ExchangeReserved,
    ExchangeShipped,
    ExchangeUnavailable,
)
from shared.contracts.events.payment import ExchangePaymentSucceeded
from shared.contracts.events.returns import Actor
from shared.logging import get_logger
from shared.timers import Timer
from shared.unit import Unit

log = get_logger(__name__)
ExchangeMove = Callable[[Exchange, datetime], ExchangeOutcome]
"""A transition of one exchange, decided at the unit's time (domain.exchange_transitions)."""


def refund_key(exchange_id: str) -> str:
    """The idempotency key of the one refund request an exchange may open."""
    return f"exchange:{exchange_id}"


async def request_exchange(
    unit: Unit[Deps],
    order_id: str,
    ask: ExchangeAsk,
    *,
    actor: Actor,
    idempotency_key: str | None,
) -> tuple[Exchange, bool]:
    """A customer's exchange (True) or the one this key already made (False)."""
    order = await repo.load_order(unit.conn, order_id, lock=True)
    if idempotency_key and (same := await xrepo.find_by_key(unit.conn, order_id, idempotency_key)):
        return same, False
    held = await repo.holdings(unit.conn, order_id)
    decision = decide_exchange(order, ask, held, unit.deps.policy, unit.now)
    exchange_id = f"ex_{uuid.uuid4().hex}"
    exchange = moves.new_exchange(exchange_id, order_id, decision, actor=actor, at=unit.now)
    if not await xrepo.insert_exchange(unit.conn, exchange, idempotency_key):
        assert idempotency_key is not None  # only a key can make the same exchange again
        same = await xrepo.find_by_key(unit.conn, order_id, idempotency_key)
        assert same is not None
        return same, False
    await _record(unit, exchange, moves.requested(exchange, unit.now, actor=actor))
    unit.after_commit(metrics.EXCHANGE_REQUESTS.labels(decision.reason).inc)
    log.info("exchange requested", exchange_id=exchange.id)
    return exchange, True


async def move(unit: Unit[Deps], exchange_id: str, decide: ExchangeMove) -> ExchangeOutcome | None:
    """Locks the exchange's order, then the exchange, decides its move and saves it; None
    when returns holds no such exchange."""
    found = await xrepo.get_exchange(unit.conn, exchange_id)
    if found is None:
        log.info("not an exchange of this returns service; ignored", exchange_id=exchange_id)
        return None
    await repo.lock_order(unit.conn, found.order_id)
    exchange = await xrepo.get_exchange(unit.conn, exchange_id, lock=True)
    assert exchange is not None
    outcome = decide(exchange, unit.now)
    await _record(unit, exchange, outcome)
    return outcome


async def reserved(unit: Unit[Deps], event: ExchangeReserved) -> None:
    decided = partial(moves.reserved, event=event, policy=unit.deps.policy)
    await move(unit, event.exchange_id, decided)


async def unavailable(unit: Unit[Deps], event: ExchangeUnavailable) -> None:
    await move(unit, event.exchange_id, partial(moves.unavailable, event=event))


async def payment_succeeded(unit: Unit[Deps], event: ExchangePaymentSucceeded) -> None:
    await move(unit, event.exchange_id, partial(moves.payment_succeeded, event=event))


async def shipped(unit: Unit[Deps], event: ExchangeShipped) -> None:
    await move(unit, event.exchange_id, partial(moves.shipped, event=event))


async def delivered(unit: Unit[Deps], event: ExchangeDelivered) -> None:
    """The replacement's parcel was delivered: the exchange ends, once. One not shipped
    (its ExchangeShipped not handled: never on one partition) is left as it is."""
    outcome = await move(unit, event.exchange_id, partial(moves.delivered, event=event))
    if outcome is not None and not outcome.audits:
        status = outcome.exchange.status
        log.info(
            "exchange not shipped; its delivery changes nothing",
            exchange_id=event.exchange_id,
            status=status,
        )


async def pay_due(unit: Unit[Deps], timer: Timer) -> None:
    """The pay-by timer of exchange `timer.key`."""
    await move(unit, timer.key, moves.pay_due)


async def return_due(unit: Unit[Deps], timer: Timer) -> None:
    """The return-by timer of exchange `timer.key`."""
    await move(unit, timer.key, moves.return_due)


async def _record(unit: Unit[Deps], before: Exchange, outcome: ExchangeOutcome) -> None:
    """Saves what a transition decided: the exchange, its audit steps, events, timers, the
    payment it adds to the order and the refund it opens."""
    after = outcome.exchange
    if outcome.captured:
        await xrepo.add_captured(unit.conn, after.order_id, outcome.captured)
    if after != before:
        await xrepo.save_exchange(unit.conn, after)
    await xrepo.add_steps(unit.conn, after.id, outcome.audits)
    await steps.publish(unit, after.id, after.order_id, outcome.events, outcome.timers)
    if outcome.refund is not None:
        await _open_refund(unit, after, outcome.refund)


async def _open_refund(unit: Unit[Deps], exchange: Exchange, kind: Refund) -> None:
    """Opens the exchange's refund, approved at once by the system, never more than is
    left of the payment (after the exchange itself was saved, so that units it gave back
    are free for it)."""
    order = await repo.load_order(unit.conn, exchange.order_id)
    assert order is not None  # locked by `move`
    held = await repo.holdings(unit.conn, exchange.order_id)
    owed = difference_refund if kind == "difference" else returned_units_refund
    decision = owed(order, held, exchange)
    if decision is None:
        log.info("exchange refund not made: nothing left of the payment", exchange_id=exchange.id)
        return
    request = await steps.open_request(
        unit, exchange.order_id, decision, actor="system", idempotency_key=refund_key(exchange.id)
    )
    await xrepo.save_exchange(unit.conn, replace(exchange, refund_request_id=request.id))
    details = {"refund_request_id": request.id, "amount": request.amount, "reason": kind}
    await xrepo.add_steps(unit.conn, exchange.id, [Audit("system", "refund", unit.now, details)])
