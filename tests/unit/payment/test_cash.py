"""Cash on delivery: what the courier collected against what the order owed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from services.payment.domain import Attempt, AttemptStatus, cash_mismatch
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from tests.unit.payment.states import NOW, open_card_payment

PAYMENT = replace(open_card_payment(timedelta(hours=1)), method=PaymentMethod.CASH_ON_DELIVERY)
ATTEMPT = Attempt(
    "pat_1", "ord_1", 1, PaymentMethod.CASH_ON_DELIVERY, "courier", None, None, None,
    AttemptStatus.OPEN, None, NOW,
)  # fmt: skip


def kind(amount: int, currency: str = "CNY") -> str | None:
    collected = Money(amount=amount, currency=currency)
    found = cash_mismatch(PAYMENT, ATTEMPT, collected, "shp_1", NOW, NOW)
    return None if found is None else found.kind


def test_a_collection_is_compared_with_what_was_due() -> None:
    assert kind(10_000) is None
    assert kind(9_000) == "short"
    assert kind(0) == "short"
    assert kind(10_500) == "over"
    assert kind(10_000, "HKD") == "wrong_currency"


def test_a_mismatch_tells_operations_what_was_due_and_collected() -> None:
    found = cash_mismatch(PAYMENT, ATTEMPT, Money(amount=9_000, currency="CNY"), "shp_1", NOW, NOW)
    assert found is not None
    told = found.event()
    assert (told.attempt_id, told.shipment_id, told.kind) == ("pat_1", "shp_1", "short")
    assert (told.due.amount, told.collected.amount) == (10_000, 9_000)
