"""The sandbox carrier: books parcels locally and, like a real courier, posts signed
tracking checkpoints to the logistics webhook over HTTP.

Its script walks a parcel from the origin city to the recipient's city:
picked up, at the hub, arrived in the recipient's city (`arrived_in_city`, as the real
couriers' adapters map that step), out for delivery, delivered. A parcel the recipient
refused (`refusal`), or that is going back to the shop for another reason, walks the way
back instead: on its way back (`returned`), then back at the shop (`returned_to_shop`).
Its posts go out on a kept-alive client of its own (shared/http_client.py).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.logistics.carriers.base import Parcel
from shared import signing
from shared.http_client import Answer, KeptAlive

PARALLEL_PARCELS = 8  # parcels the courier moves at once; as many kept-alive connections
POST_TIMEOUT_SECONDS = 10.0


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
    checkpoints reported so far; `homeward` of them on the way back), the city it goes to
    and the parcel's status with us (`returning` and `returned`: on the way back)."""

    courier: str
    tracking_number: str
    step: int
    destination: str
    status: str = "shipped"
    homeward: int = 0

    @property
    def going_back(self) -> bool:
        return self.status in ("returning", "returned")


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
# the way back of a parcel that will not be delivered
WAY_BACK: tuple[tuple[str, str, str], ...] = (
    ("returned", "hub", "Parcel on its way back to the sender"),
    ("returned_to_shop", "origin", "Parcel returned and signed for by the sender"),
)
REFUSAL = ("refused", "destination", "The recipient refused the parcel")
HUB_CITY = "Hangzhou"


def next_checkpoint(
    tracking_number: str,
    step: int,
    origin: str,
    destination: str,
    now: datetime,
    *,
    homeward: int | None = None,
) -> dict[str, Any] | None:
    """The checkpoint the courier reports after `step` earlier ones; None once delivered.
    A parcel going back (`homeward`: its steps on the way back so far) follows the way
    back instead; None once it is back at the shop."""
    script, at = (SCRIPT, step) if homeward is None else (WAY_BACK, homeward)
    if at >= len(script):
        return None
    return _checkpoint(tracking_number, step, script[at], origin, destination, now)


def refusal(
    tracking_number: str, step: int, origin: str, destination: str, now: datetime
) -> dict[str, Any]:
    """The checkpoint of the recipient refusing the parcel at the door (after `step`)."""
    return _checkpoint(tracking_number, step, REFUSAL, origin, destination, now)


def _checkpoint(
    tracking_number: str,
    step: int,
    scripted: tuple[str, str, str],
    origin: str,
    destination: str,
    now: datetime,
) -> dict[str, Any]:
    status, where, description = scripted
    city = {"origin": origin, "hub": HUB_CITY, "destination": destination}[where]
    return {
        "tracking_number": tracking_number,
        "checkpoint_id": f"{tracking_number}-{step + 1}",
        "checkpoint_at": now.isoformat(),
        "city": city,
        "status": status,
        "description": description,
    }


def courier_client() -> KeptAlive:
    """The client the sandbox courier posts its checkpoints through."""
    return KeptAlive(timeout=POST_TIMEOUT_SECONDS, concurrency=PARALLEL_PARCELS)


async def post_checkpoint(
    http: KeptAlive, base_url: str, carrier: str, secret: str, checkpoint: dict[str, Any]
) -> Answer:
    """Posts one checkpoint to the webhook, signed like a real courier's callback; raises
    Unreachable when no answer comes."""
    body = json.dumps(checkpoint).encode()
    headers = {"Content-Type": "application/json", signing.HEADER: signing.sign(secret, body)}
    url = f"{base_url.rstrip('/')}/v1/webhooks/carriers/{carrier}"
    return await http.request("POST", url, data=body, headers=headers)
