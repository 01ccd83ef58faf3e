"""Delivery: quiet hours hold what can wait, failing channels are retried then recorded,
and the HTTP API refuses what it must."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from deploy.local.sinks import FailRule
from shared.contracts.events.order import OrderCompleted
from tests.integration.notify.support import notify, order_placed, received, shipped
from tests.support.db import rows
from tests.support.events import new_order_id, published, resend, send, wrap
from tests.support.http import OPS, SHOP, client
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.polling import eventually


async def test_quiet_hours_hold_what_can_wait_until_morning_in_the_customer_time_zone(
    infra: Infra, database: str, sinks: Any
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()
    night, day = new_order_id(), new_order_id()
    night_order = order_placed(night, time_zone="UTC", due_in=86400)
    day_order = order_placed(day, time_zone="Etc/GMT-6", due_in=86400)  # UTC+6: daytime
    async with notify(
        infra,
        database,
        sinks,
        quiet_hours_start=start.isoformat(),
        quiet_hours_end=end.isoformat(),
        reminder_offsets_seconds=[1.0],
    ) as runtime:
        await resend(infra, wrap(night_order, night), wrap(day_order, day))
        await resend(
            infra, wrap(shipped(night_order, night), night), wrap(shipped(day_order, day), day)
        )
        review = OrderCompleted(confirmed_by="customer", review_url="https://shop.example/r")
        await resend(infra, wrap(review, night))  # the review invitation waits too
        await received(sinks, day_order.contact, 4)  # confirmation and shipped, both channels
        await received(sinks, night_order.contact, 2)  # the confirmation cannot wait

        async def rearmed() -> list[dict[str, Any]]:
            found = await rows(
                runtime, "SELECT due_at, state FROM timers WHERE key = $1", f"{night}:1:morning"
            )
            return found

        [morning_timer] = await eventually(rearmed, what="the night reminder moved to morning")

        async def night_held() -> list[dict[str, Any]] | None:
            found = await rows(
                runtime,
                "SELECT template, status, send_after FROM messages WHERE order_id = $1"
                " AND template IN ('shipped', 'order_completed') ORDER BY template",
                night,
            )
            return found if len(found) == 4 else None

        held = await eventually(night_held, what="shipped and the review invitation recorded")
    morning = datetime.combine(now.date(), end, tzinfo=UTC)
    if morning <= now:
        morning += timedelta(days=1)
    assert [(h["template"], h["status"]) for h in held] == [
        ("order_completed", "pending"), ("order_completed", "pending"),
        ("shipped", "pending"), ("shipped", "pending"),
    ]  # fmt: skip
    assert {h["send_after"] for h in held} == {morning}
    assert morning_timer["state"] == "pending" and morning_timer["due_at"] == morning
    night_msgs = sinks.store.messages(to=night_order.contact.email)
    assert [m["subject"] for m in night_msgs] == [f"Order {night} confirmed - thank you, Li Wei!"]


async def test_a_failing_channel_is_retried_then_a_refusal_is_recorded_and_published(
    infra: Infra, database: str, sinks: Any, tail: TopicTail
) -> None:
    order_id, other = new_order_id(), new_order_id()
    placed, unlucky = order_placed(order_id), order_placed(other)
    sinks.store.fail_next("sms", FailRule(2, permanent=False, to=placed.contact.phone))
    sinks.store.fail_next("email", FailRule(1, permanent=True, to=placed.contact.email))
    sinks.store.fail_next("sms", FailRule(10, permanent=False, to=unlucky.contact.phone))
    async with notify(infra, database, sinks, sender_max_attempts=3) as runtime:
        await resend(infra, wrap(placed, order_id), wrap(unlucky, other))
        [failed_email] = await published(tail, order_id, "NotificationFailed")
        await published(tail, order_id, "NotificationSent")
        [gave_up] = await published(tail, other, "NotificationFailed")
        async with client(runtime) as http:
            listing = await http.get(f"/v1/orders/{order_id}/messages", headers=OPS)
    by_channel = {m["channel"]: m for m in listing.json()["messages"]}
    assert by_channel["sms"]["status"] == "sent" and by_channel["sms"]["attempts"] == 3
    assert by_channel["email"]["status"] == "failed" and by_channel["email"]["attempts"] == 1
    assert "550" in by_channel["email"]["last_error"]
    assert failed_email.json()["payload"]["channel"] == "email"
    assert "550" in failed_email.json()["payload"]["error"]
    assert str(placed.contact.email) not in str(failed_email.json()), "no address in the event"
    assert gave_up.json()["payload"]["channel"] == "sms"
    assert len(sinks.store.messages(to=placed.contact.phone)) == 1
    assert sinks.store.messages(to=placed.contact.email) == []


async def test_the_api_refuses_without_the_right_key_or_with_bad_input_and_writes_nothing(
    infra: Infra, database: str, sinks: Any
) -> None:
    customer = f"cus_{new_order_id()}"
    async with (
        notify(infra, database, sinks) as runtime,
        client(runtime) as http,
    ):
        path = f"/v1/customers/{customer}/preferences"
        shop = SHOP
        body = {"channels": ["sms"], "marketing_opt_out": True}
        anonymous = await http.put(path, json=body)
        as_ops = await http.put(path, json=body, headers=OPS)
        no_channel = await http.put(path, json={"channels": []}, headers=shop)
        pigeon = await http.put(path, json={"channels": ["pigeon"]}, headers=shop)
        stored = await http.get(path, headers=shop)
        unknown = await http.get(f"/v1/orders/{new_order_id()}/messages", headers=shop)
        ok = await http.put(path, json=body, headers=shop)
        again = await http.get(path, headers=shop)
    assert anonymous.status_code == 401 and as_ops.status_code == 403
    assert no_channel.status_code == 422 and no_channel.json()["fields"][0]["field"] == "channels"
    assert pigeon.status_code == 422 and pigeon.json()["fields"][0]["field"].startswith("channels")
    assert stored.json()["updated_at"] is None, "nothing was written by the refused requests"
    assert stored.json()["channels"] == ["email", "sms"]
    assert unknown.status_code == 404 and unknown.json()["error"] == "order_not_found"
    assert ok.status_code == 200
    assert again.json()["channels"] == ["sms"] and again.json()["marketing_opt_out"] is True


async def test_new_messages_go_out_when_they_commit_not_at_the_next_poll(
    infra: Infra, database: str, sinks: Any
) -> None:
    async with notify(infra, database, sinks, sender_poll_seconds=60):
        await asyncio.sleep(1)  # the sender's first pass found nothing and waits
        first, second = new_order_id(), new_order_id()
        placed, later = order_placed(first), order_placed(second)
        await send(infra, placed, first)
        await received(sinks, placed.contact, count=2, timeout=20)
        await send(infra, later, second)
        got = await received(sinks, later.contact, count=2, timeout=20)
    assert {m["channel"] for m in got} == {"email", "sms"}, "the confirmation by both channels"
