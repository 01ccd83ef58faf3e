"""The subscription a real carrier's parcel gets once booked: Kuaidi100 pushes its
tracking to our callback from then on.

A booked parcel is watched (`watch`, in the unit that ships it): its row in
`carrier_tracking` and the subscription, an effect made after commit (`SUBSCRIBER`),
keyed by the shipment, retried with backoff; Kuaidi100 answers a repeat `501` (already
followed), taken as done.

Kuaidi100 ends a subscription with a push of status `abort`: three days without a record,
sixty days without a change, or a courier code it found wrong (`comNew` names the right
one; its later pushes say `autoCheck` 1 with `comOld`/`comNew`). A parcel still on its way
is then subscribed again (`pushed_status`), under the corrected code when there is one, at
most `MAX_RESUBSCRIPTIONS` times, each an effect keyed by the shipment and its number. An
abort within `REPEAT_WINDOW` of the last re-subscription is that abort pushed again
(Kuaidi100 repeats a push until answered, and aborts no sooner than three days after a
subscription), so it subscribes once. A corrected code is kept for the poller's queries.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
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
MAX_RESUBSCRIPTIONS = 3  # after that, the poller alone follows the parcel
REPEAT_WINDOW = timedelta(days=1)  # an abort this soon after re-subscribing is a repeat
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


async def pushed_status(
    unit: Unit[Deps],
    courier: str,
    tracking_number: str,
    push: Mapping[str, Any],
) -> None:
    """What a push says of its subscription (`status`, `comNew`, `autoCheck`), in the unit
    that takes its tracking: a corrected courier code is kept, an ended subscription of a
    parcel on its way is made again."""
    status, com_new = str(push.get("status") or ""), str(push.get("comNew") or "")
    if status != "abort" and not (com_new and str(push.get("autoCheck")) == "1"):
        return
    parcel = await repo.lock_tracked(unit.conn, courier, tracking_number)
    if parcel is None:  # delivered, returned or not ours: nothing to follow
        return
    if com_new and com_new != parcel.company:
        await repo.corrected(unit.conn, parcel.shipment_id, com_new)
    if status != "abort":
        return
    if parcel.resubscribed_at and unit.now - parcel.resubscribed_at < REPEAT_WINDOW:
        return  # this abort, pushed again: subscribed again already
    if parcel.resubscriptions >= MAX_RESUBSCRIPTIONS:
        log.warning("tracking subscription ended for good", shipment_id=parcel.shipment_id,
                    reason=str(push.get("message") or ""))  # fmt: skip
        return
    payload = {
        "shipment_id": parcel.shipment_id,
        "courier": courier,
        "tracking_number": tracking_number,
        "phone_tail": parcel.phone_tail,
        "company": com_new or parcel.company,
    }
    key = f"{parcel.shipment_id}:{parcel.resubscriptions + 1}"
    if await effects.record(unit, SUBSCRIPTION, key, payload):
        await repo.resubscribing(unit.conn, parcel.shipment_id, unit.now)
        log.info("tracking subscription ended; subscribing again",
                 shipment_id=parcel.shipment_id, reason=str(push.get("message") or ""))  # fmt: skip


async def _subscribe(deps: Deps, effect: Effect) -> str:
    """Outside any transaction: asks the carrier to push the parcel's tracking."""
    p = effect.payload
    carrier = deps.carriers.get(p["courier"])
    if not isinstance(carrier, Kuaidi100Carrier):
        raise EffectError(f"carrier {p['courier']!r} takes no subscriptions", permanent=True)
    try:
        return await carrier.subscribe(
            p["tracking_number"], p.get("phone_tail"), p.get("to"), p.get("company")
        )
    except BookingError as exc:
        raise EffectError(exc.reason, permanent=exc.permanent, retry_after=exc.retry_after) from exc


async def _subscribed(unit: Unit[Deps], effect: Effect, code: Any) -> None:
    shipment_id = effect.payload.get("shipment_id") or effect.key
    await repo.subscribed(unit.conn, shipment_id, unit.now)
    log.info("tracking subscribed", shipment_id=shipment_id, return_code=str(code))


async def _not_subscribed(unit: Unit[Deps], effect: Effect, reason: str, will_retry: bool) -> None:
    """Without pushes the parcel is still tracked: the poller asks for it once it is silent."""
    shipment_id = effect.payload.get("shipment_id") or effect.key
    log.warning("tracking not subscribed", shipment_id=shipment_id, error=reason, retry=will_retry)


SUBSCRIBER = Performer(call=_subscribe, done=_subscribed, failed=_not_subscribed)
