"""The sandbox carrier: books parcels locally and, like a real courier, posts signed
tracking checkpoints to the logistics webhook over HTTP.

Its script walks a parcel from the origin city to the recipient's city:
picked up, at the hub, arrived in the recipient's city (`arrived_in_city`, as the real
couriers' adapters map that step), out for delivery, delivered.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from services.logistics.carriers.base import Parcel
from shared import outbound, signing


@dataclass
class SandboxCarrier:
    name: str
    prefix: str
    booked: dict[str, str] = field(default_factory=dict)  # idempotency key -> tracking number
    bookings: list[tuple[str, str]] = field(default_factory=list)  # (order id, shipment id)

    async def book(self, parcel: Parcel, idempotency_key: str | None = None) -> str:
        if idempotency_key in self.booked:  # asked again: the same parcel, not a second one
            return self.booked[idempotency_key]
        tracking = f"{self.prefix}{secrets.randbelow(10**12):012d}"
        if idempotency_key is not None:
            self.booked[idempotency_key] = tracking
        self.bookings.append((parcel.order_id, parcel.shipment_id))
        return tracking


@dataclass(frozen=True)
class SandboxParcel:
    """A parcel as the sandbox courier sees it: where it is in the script (`step`
    checkpoints reported so far) and the city it goes to."""

    courier: str
    tracking_number: str
    step: int
    destination: str


def sandbox_carriers(names: list[str]) -> dict[str, SandboxCarrier]:
    return {name: SandboxCarrier(name, name.upper()) for name in names}


# (status, where: "origin" | "hub" | "destination", description)
SCRIPT: tuple[tuple[str, str, str], ...] = (
    ("in_transit", "origin", "Parcel picked up by the courier"),
    ("in_transit", "hub", "Parcel at the sorting hub"),
    ("arrived_in_city", "destination", "Parcel arrived in the destination city"),
    ("out_for_delivery", "destination", "Courier is out for delivery"),
    ("delivered", "destination", "Parcel delivered"),
)
HUB_CITY = "Hangzhou"


def next_checkpoint(
    tracking_number: str, step: int, origin: str, destination: str, now: datetime
) -> dict[str, Any] | None:
    """The checkpoint the courier reports after `step` earlier ones; None once delivered."""
    if step >= len(SCRIPT):
        return None
    status, where, description = SCRIPT[step]
    city = {"origin": origin, "hub": HUB_CITY, "destination": destination}[where]
    return {
        "tracking_number": tracking_number,
        "checkpoint_id": f"{tracking_number}-{step + 1}",
        "checkpoint_at": now.isoformat(),
        "city": city,
        "status": status,
        "description": description,
    }


async def post_checkpoint(
    base_url: str, carrier: str, secret: str, checkpoint: dict[str, Any]
) -> httpx.Response:
    """Posts one checkpoint to the webhook, signed like a real courier's callback."""
    body = json.dumps(checkpoint).encode()
    headers = {"Content-Type": "application/json", signing.HEADER: signing.sign(secret, body)}
    url = f"{base_url.rstrip('/')}/v1/webhooks/carriers/{carrier}"
    return await outbound.client().post(url, content=body, headers=headers, timeout=10)
