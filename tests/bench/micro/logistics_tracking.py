"""What the Kuaidi100 integration adds to logistics' per-order Python, side by side.

    .venv/bin/python -m tests.bench.micro.logistics_tracking

Prints, each beside its baseline measured in the same run (the machine is shared, so only
figures taken side by side compare), in microseconds per call, best of rounds:

- a dispatch's booking (`domain.shipments.dispatched` and its effect payload as JSON)
  carrying the recipient's address, against the same without it;
- a checkpoint's tracking decision (`domain.shipping.track`, the progress table) against
  the branches it replaced;
- taking a Kuaidi100 report of 20 steps apart (`carriers.kuaidi100.checkpoints`), which
  runs per push or poll only, not per order.
"""

from __future__ import annotations

import json
import timeit
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.logistics.carriers import kuaidi100
from services.logistics.domain import shipments
from services.logistics.domain.shipping import (
    CheckpointStatus,
    ParcelStatus,
    Shipment,
    Tracking,
    track,
)
from services.logistics.domain.stock import Fulfilment

ROUNDS = 7
CALLS = 20_000

_PROGRESS = {ParcelStatus.SHIPPED: 0, ParcelStatus.IN_TRANSIT: 1,
             ParcelStatus.OUT_FOR_DELIVERY: 2, ParcelStatus.DELIVERED: 3}  # fmt: skip


def track_before(current: ParcelStatus, checkpoint: CheckpointStatus) -> Tracking:
    """`track` as it read before the progress table (four checkpoint statuses)."""
    if current not in _PROGRESS:
        raise ValueError(current)
    if checkpoint is CheckpointStatus.EXCEPTION:
        return Tracking(current, "checkpoint")
    reached = ParcelStatus(checkpoint.value)
    if current is ParcelStatus.DELIVERED:
        return Tracking(current, None if reached is ParcelStatus.DELIVERED else "checkpoint")
    if _PROGRESS[reached] < _PROGRESS[current]:
        return Tracking(current, "checkpoint")
    if reached is ParcelStatus.DELIVERED:
        return Tracking(reached, "delivered")
    if reached is ParcelStatus.OUT_FOR_DELIVERY:
        return Tracking(reached, "out_for_delivery")
    return Tracking(reached, "checkpoint")


def dispatched_before(order: Fulfilment, shipment: Shipment) -> tuple[str, dict[str, Any]]:
    """The booking `domain.shipments.dispatched` recorded before it carried the address."""
    address = order.address or {}
    parcel: dict[str, Any] = {
        "shipment_id": shipment.shipment_id,
        "order_id": order.order_id,
        "city": str(address.get("city", "")),
        "region": address.get("region"),
        "country": str(address.get("country", "")),
        "items": sum(int(line["quantity"]) for line in order.lines),
    }
    return (shipment.shipment_id, {"courier": shipment.courier, "parcel": parcel})


def _order() -> Fulfilment:
    address = {"recipient": "Li Wei", "phone": "+8613800138000", "line1": "1 Xihu Road",
               "city": "Hangzhou", "region": "Zhejiang", "country": "CN"}  # fmt: skip
    lines = [{"line_id": "l1", "sku": "SKU-1", "quantity": 2, "unit_price": 9_900}]
    return Fulfilment("ord_1", "reserved", "card", lines, address, None, None, None, None, None)


def _shipment() -> Shipment:
    today, now = date.today(), datetime.now(UTC)
    return Shipment("shp_1", "ord_1", ParcelStatus.PENDING, "sf", None, None, today, today,
                    now, None, None, None)  # fmt: skip


def _best(fn: Any) -> float:
    return min(timeit.repeat(fn, number=CALLS, repeat=ROUNDS)) / CALLS * 1e6


def main() -> None:
    order, shipment = _order(), _shipment()

    def booking_now() -> str:
        return json.dumps(shipments.dispatched(order, shipment).booking)

    def booking_before() -> str:
        return json.dumps(dispatched_before(order, shipment))

    statuses = [CheckpointStatus.IN_TRANSIT, CheckpointStatus.OUT_FOR_DELIVERY,
                CheckpointStatus.DELIVERED, CheckpointStatus.EXCEPTION]  # fmt: skip

    def tracks_now() -> None:
        for cp in statuses:
            track(ParcelStatus.IN_TRANSIT, cp)

    def tracks_before() -> None:
        for cp in statuses:
            track_before(ParcelStatus.IN_TRANSIT, cp)

    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    report = {"nu": "SF1", "state": "0", "data": [
        {"ftime": (start + timedelta(hours=i)).strftime("%Y-%m-%d %H:%M:%S"),
         "context": f"step {i}", "areaName": "浙江,杭州市", "statusCode": "0"}
        for i in range(20)
    ]}  # fmt: skip

    print(f"booking payload, with the address   {_best(booking_now):7.2f} us")
    print(f"booking payload, without (baseline) {_best(booking_before):7.2f} us")
    print(f"track x4, progress table            {_best(tracks_now):7.2f} us")
    print(f"track x4, branches (baseline)       {_best(tracks_before):7.2f} us")
    report_us = _best(lambda: kuaidi100.checkpoints(report))
    print(f"a 20-step Kuaidi100 report          {report_us:7.2f} us")


if __name__ == "__main__":
    main()
