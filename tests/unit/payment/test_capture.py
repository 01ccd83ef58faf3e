"""What a provider captured, compared with what the order owes."""

from __future__ import annotations

import pytest

from services.payment.domain import Capture, PaymentState, compare_capture
from shared.contracts.events.common import PaymentMethod

DUE = PaymentState("ord_1", PaymentMethod.CARD, 9_900, "CNY", None, None, None)


@pytest.mark.parametrize(
    ("amount", "currency", "expected", "pays"),
    [
        (9_900, "CNY", Capture.EXACT, True),
        (1, "CNY", Capture.UNDERPAID, False),
        (10_000, "CNY", Capture.OVERPAID, True),
        (9_900, "USD", Capture.WRONG_CURRENCY, False),
        (99_000, "USD", Capture.WRONG_CURRENCY, False),
    ],
)
def test_only_the_amount_due_or_more_in_the_orders_currency_pays(
    amount: int, currency: str, expected: Capture, pays: bool
) -> None:
    capture = compare_capture(DUE, amount, currency)
    assert (capture, capture.pays) == (expected, pays)
