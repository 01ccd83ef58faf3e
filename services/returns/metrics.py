"""Prometheus metrics of the returns service, beside the shared ones in shared/metrics.py."""

from prometheus_client import Counter

REFUND_REQUESTS = Counter(
    "fulfil_refund_requests_total",
    "Refund requests opened (the customer's, and the automatic ones of a cancelled paid"
    " order), by flow and reason; counted once their unit commits",
    ["flow", "reason"],
)

EXCHANGE_REQUESTS = Counter(
    "fulfil_exchange_requests_total",
    "Exchanges asked for (units of a delivered line for another variant), by reason; counted"
    " once their unit commits",
    ["reason"],
)
