"""Reconciling exchange charges: an exchange's capture whose callback was lost is found.

In each reconcile pass (steps/reconcile.py, under its lock, after the attempts) a bounded
batch of exchange charges is asked of their provider, one at a time and outside any
transaction, on the attempts' terms: open charges whose end the provider has not reported
`reconcile_after_seconds` after they opened, and cancelled ones with nothing captured,
asked once more after their session was closed (the customer may have paid just before).
The answer is applied by `apply_callback`, exactly as the callback would be: an open
charge's capture publishes ExchangePaymentSucceeded, a cancelled one's is refunded
(`late_exchange_payment`); whichever of the answer and a late callback comes second
changes nothing. Without this, a lost callback leaves the exchange to be cancelled unpaid
at its `pay_by` and the customer's money captured at the provider.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.payment import repository as repo
from services.payment.deps import Deps
from services.payment.domain.exchanges import ExchangeCharge, provider_state_after
from services.payment.providers import ProviderError
from services.payment.steps.charges import apply_callback
from shared import db
from shared.logging import get_logger
from shared.unit import Service

log = get_logger(__name__)


def asking(runtime: Service[Deps]) -> dict[str, Any]:
    """Which unsettled charges a pass asks about (attempts and exchange charges alike):
    opened long enough ago, not past the horizon, not asked in the last half pass, a
    batch at most, as of now."""
    s, now = runtime.deps.settings, datetime.now(UTC)
    return {
        "older_than": now - timedelta(seconds=s.reconcile_after_seconds),
        "newer_than": now - timedelta(seconds=s.reconcile_horizon_seconds),
        "asked_before": now - timedelta(seconds=s.reconcile_every_seconds / 2),
        "limit": s.reconcile_batch_size,
        "now": now,
    }


async def due_exchanges(runtime: Service[Deps], conn: Any) -> list[ExchangeCharge]:
    providers = list(runtime.deps.providers)
    return await repo.unsettled_exchange_charges(conn, providers, **asking(runtime))


async def ask_exchange(runtime: Service[Deps], charge: ExchangeCharge) -> tuple[str, str | None]:
    """Asks the charge's provider and applies a final answer: (answer, effect), the answer
    pending | succeeded | failed | error. One charge's trouble never stops the others: it
    is asked again on a later pass."""
    assert charge.session_id is not None
    provider = runtime.deps.providers[charge.provider]
    asked_at = datetime.now(UTC)  # before the question: a close after it is asked about again
    try:
        found = await provider.query(charge.session_id, charge.attempt_id)
    except ProviderError as exc:
        log.warning("reconcile query failed", exchange_id=charge.exchange_id, error=exc.reason)
        return await _checked(runtime, charge, "error", asked_at), None
    except Exception:
        log.exception("reconcile query raised unexpectedly", exchange_id=charge.exchange_id)
        return await _checked(runtime, charge, "error", asked_at), None
    if found is None:
        return await _checked(runtime, charge, "pending", asked_at), None
    if not found.order_id:  # a query answer need not echo our order id; we asked for it
        found = replace(found, order_id=charge.order_id)
    try:
        async with runtime.unit() as unit:
            effect = await apply_callback(unit, charge.provider, found)
            state = provider_state_after(charge, found.outcome)
            await repo.mark_exchange_checked(unit.conn, charge.attempt_id, state, asked_at)
    except Exception as exc:
        if db.is_transient(exc):
            raise
        log.exception("reconcile answer not applied", exchange_id=charge.exchange_id)
        return await _checked(runtime, charge, "error", asked_at), None
    log.info(
        "exchange charge reconciled",
        exchange_id=charge.exchange_id,
        order_id=charge.order_id,
        effect=effect,
    )
    return found.outcome, effect


async def _checked(
    runtime: Service[Deps], charge: ExchangeCharge, answer: str, asked_at: datetime
) -> str:
    state = provider_state_after(charge, answer)
    async with runtime.unit() as unit:
        await repo.mark_exchange_checked(unit.conn, charge.attempt_id, state, asked_at)
    if state == "final":
        log.info("closed exchange session found unpaid", exchange_id=charge.exchange_id)
    return answer
