"""The subscription a real carrier's parcel gets once booked: Kuaidi100 pushes its
tracking to our callback from then on.

A booked parcel is watched (`watch`, in the unit that ships it): its row in
`carrier_tracking` and the subscription, an effect made after commit (`SUBSCRIBER`),
keyed by the shipment, retried with backoff; Kuaidi100 answers a repeat `501` (already
followed), taken as done.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.logistics.carriers import kuaidi100
from services.logistics.carriers.base import BookingError
from services.logistics.carriers.kuaidi100 import Booked, Kuaidi100Carrier
from services.logistics.deps import Deps
from services.logistics.domain.shipping import Shipment
from services.logistics.repository import tracking as repo
from shared import effects
from shared.effects import Effect, EffectError, Performer
from shared.logging import get_logger
from shared.unit import Unit

SUBSCRIPTION = "carrier_subscription"  # an effect (shared/effects.py), key shipment id
log = get_logger(__name__)


async def watch(
    unit: Unit[Deps],
    shipment: Shipment,
    booked: Booked,
    address: Mapping[str, Any] | None,
    contact_phone: str | None,
) -> None:
    """The parcel a real carrier took: followed from now, its subscription made after commit.
    SF's tracking needs the recipient's phone: its last four digits are kept."""
    phone = str((address or {}).get("phone") or contact_phone or "")
    tail = phone[-4:] if len(phone) >= 4 else None
    await repo.watch(unit.conn, shipment.shipment_id, shipment.courier,
                     booked.tracking_number, booked.label, tail, unit.now)  # fmt: skip
    payload = {
        "courier": shipment.courier,
        "tracking_number": booked.tracking_number,
        "phone_tail": tail,
        "to": kuaidi100.destination(address or {}) or None,
    }
    await effects.record(unit, SUBSCRIPTION, shipment.shipment_id, payload)


async def _subscribe(deps: Deps, effect: Effect) -> str:
    """Outside any transaction: asks the carrier to push the parcel's tracking."""
    p = effect.payload
    carrier = deps.carriers.get(p["courier"])
    if not isinstance(carrier, Kuaidi100Carrier):
        raise EffectError(f"carrier {p['courier']!r} takes no subscriptions", permanent=True)
    try:
        return await carrier.subscribe(p["tracking_number"], p.get("phone_tail"), p.get("to"))
    except BookingError as exc:
        raise EffectError(exc.reason, permanent=exc.permanent, retry_after=exc.retry_after) from exc


async def _subscribed(unit: Unit[Deps], effect: Effect, code: Any) -> None:
    await repo.subscribed(unit.conn, effect.key, unit.now)
    log.info("tracking subscribed", shipment_id=effect.key, return_code=str(code))


async def _not_subscribed(unit: Unit[Deps], effect: Effect, reason: str, will_retry: bool) -> None:
    """Without pushes the parcel is still tracked: the poller asks for it once it is silent."""
    log.warning("tracking not subscribed", shipment_id=effect.key, error=reason, retry=will_retry)


SUBSCRIBER = Performer(call=_subscribe, done=_subscribed, failed=_not_subscribed)
