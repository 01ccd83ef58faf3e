"""Payment providers: one interface, a sandbox, and real providers behind the same interface."""

from services.payment.providers.base import (
    Callback,
    IgnoredCallback,
    InvalidCallback,
    MalformedCallback,
    Provider,
    ProviderError,
    RefundReceipt,
    Session,
    SessionRequest,
)

__all__ = [
    "Callback",
    "IgnoredCallback",
    "InvalidCallback",
    "MalformedCallback",
    "Provider",
    "ProviderError",
    "RefundReceipt",
    "Session",
    "SessionRequest",
]
