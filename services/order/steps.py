"""What runs inside a unit of work of the order service: load the order, let the domain
decide, save the outcome once (`repository.record`). Handlers, timers and views call these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.order import metrics, repository
from services.order.deps import Deps
from services.order.domain import placing
from services.order.domain.order import Entry, Order, Outcome
from shared import held
from shared.messages import Handlers, Incoming
from shared.unit import Unit

Decision = Callable[[Order], Outcome]


async def react(unit: Unit[Deps], msg: Incoming[Any], decide: Decision) -> None:
    """Applies what another service tells about an order; an event about an order not
    placed (yet) is held (`shared.held`) until placing it releases the event."""
    order = await held.known_or_held(unit, msg, repository.load_locked)
    if order is not None:
        await repository.record(unit, order, decide(order))


async def change(unit: Unit[Deps], order_id: str, decide: Decision) -> Order | None:
    """Applies a decision (a customer's action, a due timer) to the order, locked; None
    when there is no such order."""
    order = await repository.load_locked(unit.conn, order_id)
    if order is not None:
        await repository.record(unit, order, decide(order))
    return order


@dataclass(frozen=True)
class Placed:
    order: Order
    replayed: bool  # an earlier request with the same Idempotency-Key placed it
    timeline: list[Entry] = field(default_factory=list)


async def place(
    unit: Unit[Deps],
    order: Order,
    idempotency: tuple[str, str] | None,
    handlers: Handlers,
) -> Placed:
    """Places `order`, or finds the order an earlier request with the same idempotency
    (key, request hash) placed; `placing.KeyReused` when that request differed. Events
    held for the new order are handled with `handlers` in the same unit."""
    if idempotency is not None:
        key, request_hash = idempotency
        prior = await repository.claim_idempotency_key(unit.conn, key, request_hash, order.order_id)
        if prior is not None:
            return await _replay(unit, prior, request_hash)
    _, order_url = unit.deps.settings.order_link(order.order_id)
    outcome = placing.placed(order, order_url)
    await repository.record_new(unit, order, outcome)
    unit.after_commit(metrics.ORDERS_PLACED.inc)
    if await held.release(unit, order.order_id, handlers):
        order = await repository.load(unit.conn, order.order_id) or order
        return Placed(order, False, await repository.timeline(unit.conn, order.order_id))
    return Placed(order, False, sorted(outcome.entries, key=lambda entry: entry.at))


async def _replay(unit: Unit[Deps], prior: tuple[str, str], request_hash: str) -> Placed:
    order_id, prior_hash = prior
    if prior_hash != request_hash:
        raise placing.KeyReused(order_id)
    order = await repository.load(unit.conn, order_id)
    assert order is not None, "an idempotency key always comes with its order"
    return Placed(order, True, await repository.timeline(unit.conn, order_id))
