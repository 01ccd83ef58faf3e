"""The timeline names the courier as customers know it, with a link to follow the parcel."""

from __future__ import annotations

import re
import uuid

from shared.contracts.events import logistics as lg
from shared.contracts.events.common import Address
from shared.runtime import Runtime
from tests.integration.order.support import place, until
from tests.support.events import now, send_all

NAMES = {"zh-CN": "顺丰速运", "zh-TW": "順豐速運", "en": "SF Express"}
ADDRESS = Address(recipient="Li Wei", line1="1 Century Avenue", city="Shanghai", country="CN")


def shipped_with_sf(tracking: str) -> lg.ShipmentShipped:
    return lg.ShipmentShipped(
        shipment_id=f"shp_{uuid.uuid4().hex[:8]}",
        courier="sf",
        tracking_number=tracking,
        lines=(),
        address=ADDRESS,
        shipped_at=now(),
    )


async def test_the_timeline_names_the_courier_in_the_order_language_and_links_its_tracking(
    service: Runtime,
) -> None:
    for locale, name in NAMES.items():
        order_id = (await place(service, locale=locale))["order_id"]
        tracking = f"SF{uuid.uuid4().hex[:10].upper()}"
        await send_all(service, order_id, shipped_with_sf(tracking))
        order = await until(service, order_id, lambda o: o["shipment"])
        link = f"https://www.sf-express.com/chn/sc/waybill/waybill-detail/{tracking}"

        [entry] = [e for e in order["timeline"] if e["kind"] == "shipped"]
        assert name in entry["description"] and tracking in entry["description"]
        assert link in entry["description"]
        assert not re.search(r"\bsf\b", entry["description"].replace(link, "")), "never the code"
        assert entry["details"]["courier_name"] == name
        assert entry["details"]["tracking_url"] == link
        assert order["shipment"]["courier_name"] == name
        assert order["shipment"]["tracking_url"] == link
        [checkpoint] = order["shipment"]["checkpoints"]
        assert name in checkpoint["description"]
