"""Stuck orders: found by the order service's periodic check, counted by stage, told once
per stay on operations.v1, and listed for operations (`GET /ops/stuck`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import REGISTRY

from services.order import stuck
from services.order.domain.stuck import promise_deadline
from shared.contracts.events import logistics as lg
from shared.contracts.events import returns as rt
from shared.runtime import Runtime
from tests.integration.order.support import (
    kinds,
    order_service,
    place,
    refund,
    shipped,
    succeeded,
    until,
)
from tests.support.events import now, payloads, send_all
from tests.support.http import OPS, client
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.polling import eventually

THRESHOLD = 2.0  # seconds, every stage (not_shipped: past the promise)
SETTINGS = {
    f"stuck_{stage}_seconds": THRESHOLD
    for stage in ("awaiting_payment_request", "not_shipped", "silent_in_transit")
} | {"stuck_refund_unanswered_seconds": THRESHOLD, "stuck_check_seconds": 3600}


@pytest.fixture(scope="module")
async def service(infra: Infra) -> AsyncIterator[Runtime]:
    dsn = await infra.create_database("order_stuck")
    async with order_service(infra, dsn, **SETTINGS) as runtime:
        yield runtime


async def check(runtime: Runtime, at: datetime) -> list[tuple[str, str]]:
    """One run of the periodic check at `at`: the (order, stage) it reported."""
    reported = await stuck.check(runtime, runtime.settings.stuck_thresholds, now=at)
    assert reported is not None, "no other replica checks"
    return [(e.order_id, e.stage) for e in reported]


async def listed(runtime: Runtime, stage: str | None = None) -> list[dict[str, Any]]:
    async with client(runtime) as http:
        params = {"stage": stage} if stage else {}
        response = await http.get("/ops/stuck", params=params, headers=OPS)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["stuck"]
    return found


async def shown(runtime: Runtime, order_id: str, stage: str) -> dict[str, Any] | None:
    """The order as `GET /ops/stuck?stage=` lists it (the real clock: once past its threshold)."""
    found = [s for s in await listed(runtime, stage) if s["order_id"] == order_id]
    return found[0] if found else None


def gauge(stage: str) -> float | None:
    return REGISTRY.get_sample_value("fulfil_orders_stuck", {"stage": stage})


async def outboxed(runtime: Runtime, order_id: str) -> int:
    async with runtime.db.acquire() as conn:
        count: int = await conn.fetchval(
            """SELECT count(*) FROM outbox WHERE event_type = 'OrderStuck' AND key = $1""",
            order_id.encode(),
        )
    return count


async def test_an_order_never_asked_for_payment_is_told_once_counted_and_leaves_when_paid(
    service: Runtime, tail: TopicTail
) -> None:
    placed = await place(service)
    order_id, placed_at = placed["order_id"], datetime.fromisoformat(placed["placed_at"])
    assert (order_id, "awaiting_payment_request") not in await check(service, placed_at)
    later = placed_at + timedelta(seconds=THRESHOLD + 1)
    runs = [await check(service, later) for _ in range(3)]
    assert [(order_id, "awaiting_payment_request") in run for run in runs] == [True, False, False]
    [told] = await payloads(tail, order_id, "OrderStuck")
    assert await outboxed(service, order_id) == 1, "three checks, one report"
    assert told["stage"] == "awaiting_payment_request" and told["order_id"] == order_id
    assert datetime.fromisoformat(told["since"]) == placed_at
    assert told["threshold_seconds"] == THRESHOLD and "never requested" in told["detail"]
    [record] = [r for r in tail.records if r.type == "OrderStuck" and r.key == order_id.encode()]
    assert record.topic == "operations.v1"
    counted = gauge("awaiting_payment_request")
    assert counted is not None and counted >= 1
    await eventually(lambda: shown(service, order_id, "awaiting_payment_request"), what="listed")

    await send_all(service, order_id, succeeded("a1"))
    await until(service, order_id, lambda o: o["status"] == "paid")
    assert (order_id, "awaiting_payment_request") not in await check(service, later)
    assert gauge("awaiting_payment_request") == counted - 1, "paid: no longer stuck"
    assert order_id not in [s["order_id"] for s in await listed(service)]


async def test_a_paid_order_past_its_promise_is_not_shipped(
    service: Runtime, tail: TopicTail
) -> None:
    order_id = (await place(service))["order_id"]
    yesterday = datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)
    tomorrow = yesterday + timedelta(days=2)
    await send_all(service, order_id, lg.ShippingPromiseSet(promised_ship_date=tomorrow))
    payment = succeeded("a1")
    await send_all(service, order_id, payment)
    await until(service, order_id, lambda o: o["status"] == "paid")
    assert (order_id, "not_shipped") not in await check(service, now()), "promise not due"

    await send_all(service, order_id, delay_to(tomorrow, yesterday))
    await until(service, order_id, lambda o: "delayed" in kinds(o))
    assert (order_id, "not_shipped") in await check(service, now())
    [told] = await payloads(tail, order_id, "OrderStuck")
    deadline = promise_deadline(yesterday, "Asia/Shanghai").astimezone(UTC)
    assert told["stage"] == "not_shipped"
    assert deadline.isoformat(timespec="seconds") in told["detail"]
    assert datetime.fromisoformat(told["since"]) == payment.paid_at, "in the stage since paid"
    listing = await shown(service, order_id, "not_shipped")
    assert listing is not None and listing["threshold_seconds"] == told["threshold_seconds"]
    assert listing["waited_seconds"] > 0 and listing["since"] == told["since"]


async def test_a_refund_request_unanswered_past_its_threshold_until_rejected(
    service: Runtime, tail: TopicTail
) -> None:
    order_id = (await place(service))["order_id"]
    request = f"rr_{uuid.uuid4().hex[:8]}"
    await send_all(service, order_id, succeeded("a1"), refund(rt.RefundRequested, request))
    await until(service, order_id, lambda o: "refund_requested" in kinds(o))
    later = now() + timedelta(seconds=THRESHOLD + 1)
    assert (order_id, "refund_unanswered") in await check(service, later)
    [told] = await payloads(tail, order_id, "OrderStuck")
    assert told["stage"] == "refund_unanswered" and told["threshold_seconds"] == THRESHOLD

    rejected = refund(rt.RefundRejected, request, reason="x", actor="operations")
    await send_all(service, order_id, rejected)
    await until(service, order_id, lambda o: "refund_rejected" in kinds(o))
    assert order_id not in [s["order_id"] for s in await listed(service, "refund_unanswered")]


async def test_a_silent_parcel_is_told_for_each_silence_a_checkpoint_ends(
    service: Runtime, tail: TopicTail
) -> None:
    order_id = (await place(service))["order_id"]
    sent = shipped("s1", ago=timedelta(seconds=10))
    await send_all(service, order_id, succeeded("a1"), sent)
    await until(service, order_id, lambda o: o["status"] == "shipped")
    assert (order_id, "silent_in_transit") in await check(service, now())
    spoke = now()
    await send_all(service, order_id, checkpoint("s1", spoke))
    await until(service, order_id, lambda o: "checkpoint" in kinds(o))
    assert (order_id, "silent_in_transit") not in await check(service, spoke)
    assert await shown(service, order_id, "silent_in_transit") is None
    later = spoke + timedelta(seconds=THRESHOLD + 1)
    assert (order_id, "silent_in_transit") in await check(service, later), "a new silence"
    told = await payloads(tail, order_id, "OrderStuck", count=2)
    assert [datetime.fromisoformat(t["since"]) for t in told] == [sent.shipped_at, spoke]


async def test_checks_running_at_once_report_an_order_once(service: Runtime) -> None:
    placed = await place(service)
    at = datetime.fromisoformat(placed["placed_at"]) + timedelta(seconds=THRESHOLD + 1)
    runs = await asyncio.gather(*(check_or_none(service, at) for _ in range(4)))
    told = [run.count((placed["order_id"], "awaiting_payment_request")) for run in runs if run]
    assert sum(told) == 1 and await outboxed(service, placed["order_id"]) == 1


async def check_or_none(runtime: Runtime, at: datetime) -> list[tuple[str, str]] | None:
    """A check as a replica runs it: None when another one holds the lock."""
    reported = await stuck.check(runtime, runtime.settings.stuck_thresholds, now=at)
    return None if reported is None else [(e.order_id, e.stage) for e in reported]


def checkpoint(shipment: str, at: datetime) -> lg.CheckpointReached:
    return lg.CheckpointReached(
        shipment_id=shipment,
        courier="SF Express",
        tracking_number="SF1",
        checkpoint_at=at,
        city="Shanghai",
        status="in_transit",
        description="Left the sorting centre",
    )


async def test_an_unknown_stage_is_refused_naming_the_field(service: Runtime) -> None:
    async with client(service) as http:
        response = await http.get("/ops/stuck", params={"stage": "lost"}, headers=OPS)
        anonymous = await http.get("/ops/stuck")
    assert response.status_code == 422 and "stage" in response.text
    assert anonymous.status_code == 401


def delay_to(previous: date, new_date: date) -> lg.ShipmentDelayed:
    return lg.ShipmentDelayed(
        reason="not_shipped_by_promise", previous_date=previous, new_expected_date=new_date
    )
