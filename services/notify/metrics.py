"""Prometheus metrics of the notify service, beside the shared ones in shared/metrics.py.

The reminder conversion rate per wording is `fulfil_reminder_conversions_total` over
`fulfil_reminders_sent_total`, by `variant` (docs/operations.md, "Business figures")."""

from prometheus_client import Counter

MESSAGES = Counter(
    "fulfil_messages_total",
    "Customer messages by template, channel and final outcome (sent or failed), counted"
    " once the outcome is recorded",
    ["template", "channel", "outcome"],
)
REMINDERS_SENT = Counter(
    "fulfil_reminders_sent_total", "Payment reminders decided and queued, by wording", ["variant"]
)
REMINDER_CONVERSIONS = Counter(
    "fulfil_reminder_conversions_total",
    "Orders paid after at least one payment reminder, by the reminders' wording",
    ["variant"],
)
