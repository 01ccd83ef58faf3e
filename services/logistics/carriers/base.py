"""What the logistics service needs from a courier: book a parcel, get its tracking number.

Couriers report progress back through the signed checkpoint webhook
(`POST /v1/webhooks/carriers/{carrier}`), so booking is the only outbound call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Parcel:
    shipment_id: str
    order_id: str
    city: str
    region: str | None
    country: str
    items: int


class Carrier(Protocol):
    name: str

    async def book(self, parcel: Parcel) -> str:
        """Registers the parcel with the courier; returns its tracking number."""
        ...


class UnknownCarrier(LookupError):
    pass
