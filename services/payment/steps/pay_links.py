"""Following a pay-for-me link: to the live session, or to a new one once it has ended."""

from __future__ import annotations

from services.payment import repository as repo
from services.payment.deps import Deps
from services.payment.domain.pay_links import Landing, landing
from services.payment.steps.sessions import open_attempt
from shared.contracts.events.common import PaymentMethod
from shared.unit import Unit


async def follow(unit: Unit[Deps], order_id: str) -> Landing | None:
    """Where the order's link leads now; None for an order payment does not know. A
    session that ended while the order may still be paid is followed by a new attempt,
    derived from the ended one: the order's payment row is locked, so friends opening
    the link at once open one session, and the same link keeps working."""
    payment = await repo.get_payment(unit.conn, order_id, lock=True)
    if payment is None:
        return None
    attempts = await repo.attempts_of(unit.conn, order_id)
    found = landing(payment, attempts[-1] if attempts else None, unit.now)
    if found.reopen_after is None:
        return found
    cause = f"pay_link:{found.reopen_after}"
    return Landing(attempt=await open_attempt(unit, payment, PaymentMethod.PAY_FOR_ME, cause=cause))
