"""What the payment service's use cases need from the outside: its providers and policies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.payment.providers import Provider


@dataclass
class PaymentDeps:
    providers: dict[str, Provider]
    default_provider: str
    refund_retry_base_seconds: float = 5.0
    refund_retry_max_seconds: float = 600.0
    refund_max_attempts: int = 8

    def provider(self, name: str | None = None) -> Provider:
        """The named provider; cash collected by couriers is refunded through the default."""
        return self.providers.get(name or "", self.providers[self.default_provider])


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"
