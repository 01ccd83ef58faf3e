"""Cash on delivery: how what the courier collected compares with what the order owed.

The collected amount is the order's payment whatever it is (the parcel is with the
customer); a collection that differs is a mismatch for operations, flagged once per order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.payment.domain.charges import Capture, compare_capture
from services.payment.domain.records import Attempt, PaymentState
from shared.contracts.envelope import Money
from shared.contracts.events.payment import CashCollectionMismatch

MismatchKind = Literal["short", "over", "wrong_currency"]
_KINDS: dict[Capture, MismatchKind] = {
    Capture.UNDERPAID: "short",
    Capture.OVERPAID: "over",
    Capture.WRONG_CURRENCY: "wrong_currency",
}


@dataclass(frozen=True)
class CashMismatch:
    order_id: str
    attempt_id: str
    shipment_id: str
    kind: MismatchKind
    due: Money
    collected: Money
    delivered_at: datetime
    recorded_at: datetime

    def event(self) -> CashCollectionMismatch:
        return CashCollectionMismatch(
            attempt_id=self.attempt_id,
            shipment_id=self.shipment_id,
            kind=self.kind,
            due=self.due,
            collected=self.collected,
            delivered_at=self.delivered_at,
        )


def cash_mismatch(
    payment: PaymentState,
    attempt: Attempt,
    collected: Money,
    shipment_id: str,
    delivered_at: datetime,
    now: datetime,
) -> CashMismatch | None:
    """The mismatch between `collected` and what `payment` owes, None when they agree."""
    kind = _KINDS.get(compare_capture(payment, collected.amount, collected.currency))
    if kind is None:
        return None
    return CashMismatch(
        order_id=payment.order_id,
        attempt_id=attempt.attempt_id,
        shipment_id=shipment_id,
        kind=kind,
        due=Money(amount=payment.amount, currency=payment.currency),
        collected=collected,
        delivered_at=delivered_at,
        recorded_at=now,
    )
