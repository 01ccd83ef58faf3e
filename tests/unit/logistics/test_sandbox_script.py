"""The sandbox courier's script says each step as the real couriers' adapters do."""

from __future__ import annotations

from datetime import UTC, datetime

from services.logistics.carriers.sandbox import next_checkpoint
from services.logistics.domain.shipping import CheckpointStatus


def test_the_sandbox_parcel_arrives_in_the_recipients_city_as_a_real_courier_says_it() -> None:
    now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    steps = []
    while (found := next_checkpoint("SB1", len(steps), "深圳", "杭州", now)) is not None:
        steps.append(found)
    assert [(s["status"], s["city"]) for s in steps] == [
        ("in_transit", "深圳"),
        ("in_transit", "Hangzhou"),
        ("arrived_in_city", "杭州"),  # notify's "arrived in your city"
        ("out_for_delivery", "杭州"),
        ("delivered", "杭州"),
    ]
    assert all(CheckpointStatus(s["status"]) for s in steps), "every one a status we read"
