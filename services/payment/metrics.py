"""Prometheus metrics of the payment service, beside the shared ones in shared/metrics.py."""

from prometheus_client import Counter

from services.payment.domain import Capture

AMOUNT_MISMATCHES = Counter(
    "fulfil_payment_amount_mismatches_total",
    "Provider successes whose amount or currency differed from what the order owes",
    ["provider", "kind"],
)
MISMATCHES = frozenset(c.value for c in Capture if c != Capture.EXACT)
