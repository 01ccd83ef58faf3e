"""The payment service's rules and records: pure values and functions, no I/O.

`records` holds the state the repository loads and saves; `payments` the window, the
attempts and the status shown; `charges` what a capture or a failure does (a
`Settlement`); `refunds` how much is refunded and what is told about it.
"""

from services.payment.domain.cash import CashMismatch, cash_mismatch
from services.payment.domain.charges import (
    Capture,
    Charge,
    Settlement,
    attempt_failed,
    classify_success,
    compare_capture,
    settle_cash,
    settle_failure,
    settle_success,
)
from services.payment.domain.payments import (
    COURIER,
    UPFRONT,
    Retry,
    failure_counts,
    failure_message,
    new_attempt,
    payment_requested,
    payment_status,
    retry_refusal,
    window_open,
)
from services.payment.domain.records import (
    Attempt,
    AttemptStatus,
    LedgerEntry,
    Overview,
    PaymentState,
    Refund,
    Totals,
    new_id,
)
from services.payment.domain.refunds import (
    Approval,
    approval,
    failure_told,
    pending_refund,
    refund_backoff,
    refund_entry,
    refund_failed,
    refund_paid,
    refundable,
    refused_refund,
)

__all__ = [
    "COURIER",
    "UPFRONT",
    "Approval",
    "Attempt",
    "AttemptStatus",
    "Capture",
    "CashMismatch",
    "Charge",
    "LedgerEntry",
    "Overview",
    "PaymentState",
    "Refund",
    "Retry",
    "Settlement",
    "Totals",
    "approval",
    "attempt_failed",
    "cash_mismatch",
    "classify_success",
    "compare_capture",
    "failure_counts",
    "failure_message",
    "failure_told",
    "new_attempt",
    "new_id",
    "payment_requested",
    "payment_status",
    "pending_refund",
    "refund_backoff",
    "refund_entry",
    "refund_failed",
    "refund_paid",
    "refundable",
    "refused_refund",
    "retry_refusal",
    "settle_cash",
    "settle_failure",
    "settle_success",
    "window_open",
]
