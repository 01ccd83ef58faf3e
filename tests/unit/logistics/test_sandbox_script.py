"""The sandbox courier's script says each step as the real couriers' adapters do."""

from __future__ import annotations

from datetime import UTC, datetime

from services.logistics.carriers.sandbox import next_checkpoint, refusal
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


def test_a_refused_sandbox_parcel_walks_back_to_the_shop_not_to_the_door() -> None:
    now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    refused = refusal("SB1", 3, "深圳", "杭州", now)  # after three steps on its way
    assert (refused["status"], refused["city"], refused["checkpoint_id"]) == (
        "refused",
        "杭州",
        "SB1-4",
    )
    back = []
    while (found := next_checkpoint("SB1", 4 + len(back), "深圳", "杭州", now,
                                    homeward=len(back))) is not None:  # fmt: skip
        back.append(found)
    assert [(s["status"], s["city"], s["checkpoint_id"]) for s in back] == [
        ("returned", "Hangzhou", "SB1-5"),
        ("returned_to_shop", "深圳", "SB1-6"),  # signed for by the sender
    ]
    assert all(CheckpointStatus(s["status"]) for s in [refused, *back])
