"""Prometheus metrics of the payment service, beside the shared ones in shared/metrics.py.

Business counters are bumped once their unit commits (`Unit.after_commit`). Payment
conversion is `fulfil_payments_total{outcome="succeeded"}` over
`fulfil_payments_requested_total` (docs/operations.md, "Business figures").
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

from services.payment.domain import Capture
from shared.contracts.events.payment import PaymentFailed, PaymentSucceeded
from shared.unit import Unit

AMOUNT_MISMATCHES = Counter(
    "fulfil_payment_amount_mismatches_total",
    "Provider successes whose amount or currency differed from what the order owes",
    ["provider", "kind"],
)
MISMATCHES = frozenset(c.value for c in Capture if c != Capture.EXACT)

PAYMENTS_REQUESTED = Counter(
    "fulfil_payments_requested_total",
    "Orders whose payment was requested (one per order, by the method chosen at checkout)",
    ["method"],
)
PAYMENTS = Counter(
    "fulfil_payments_total",
    "Payment outcomes: succeeded (the order paid, once), failed (an attempt), expired (the"
    " order ended unpaid)",
    ["method", "outcome"],
)
PAYMENT_FAILURES = Counter(
    "fulfil_payment_failures_total", "Failed payment attempts, by the provider's reason", ["reason"]
)
REFUNDS_PAID = Counter("fulfil_refunds_paid_total", "Refunds the provider paid", ["provider"])


def settled(unit: Unit[Any], event: Any, pays: bool) -> None:
    """Counts what a settlement published: the order paid, or an attempt failed."""
    if isinstance(event, PaymentSucceeded) and pays:
        unit.after_commit(PAYMENTS.labels(event.method.value, "succeeded").inc)
    elif isinstance(event, PaymentFailed):
        unit.after_commit(PAYMENTS.labels(event.method.value, "failed").inc)
        unit.after_commit(PAYMENT_FAILURES.labels(event.reason).inc)
