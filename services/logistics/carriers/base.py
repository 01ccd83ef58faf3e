"""What the logistics service needs from a courier: book a parcel, get its tracking number.

Couriers report progress back through the signed checkpoint webhook
(`POST /v1/webhooks/carriers/{carrier}`), so booking is the only outbound call; it
is made after commit by the effects worker (shared/effects.py), keyed by the shipment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Parcel:
    shipment_id: str
    order_id: str
    city: str
    region: str | None
    country: str
    items: int
    # the recipient as the order gave it (recipient, phone, line1, city, ...), for couriers
    # whose booking prints the label; None in bookings recorded before it was carried
    address: dict[str, Any] | None = None


class Carrier(Protocol):
    name: str

    async def book(self, parcel: Parcel, idempotency_key: str) -> str:
        """Registers the parcel with the courier; returns its tracking number. The same
        key books once: asked again, the courier answers with the same tracking number."""
        ...


class BookingError(Exception):
    """The courier refused or could not be reached; `permanent` refusals are not retried,
    the others not before `retry_after` seconds when the courier said so."""

    def __init__(
        self, reason: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
