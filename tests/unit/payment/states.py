"""The payment states the rule tests start from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.payment.domain import PaymentState
from shared.contracts.events.common import PaymentMethod

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)


def open_card_payment(due_in: timedelta) -> PaymentState:
    """A card payment of 100.00 CNY for ord_1, not paid yet, due `due_in` after NOW."""
    return PaymentState(
        order_id="ord_1",
        method=PaymentMethod.CARD,
        amount=10_000,
        currency="CNY",
        payment_due_at=NOW + due_in,
        paid_attempt_id=None,
        ended=None,
    )
