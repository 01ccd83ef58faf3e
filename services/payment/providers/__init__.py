"""Payment providers: one interface, a sandbox, and real providers behind the same interface."""

from services.payment.providers.base import (
    Callback,
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
    "InvalidCallback",
    "MalformedCallback",
    "Provider",
    "ProviderError",
    "RefundReceipt",
    "Session",
    "SessionRequest",
]
