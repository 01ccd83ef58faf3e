"""The business figures each service exports: an order through to delivery moves each one
by exactly one, however often its events and callbacks arrive; a failure counts by reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from deploy.demo.shop import Shop
from deploy.local.ports import free_ports
from deploy.local.sinks import Sinks
from fulfil.funnel import Scrape
from services.notify import domain
from services.order.app import build as build_order
from services.order.domain.order import STATUSES
from services.order.settings import OrderSettings
from services.payment.app import MIGRATIONS as PAYMENT_MIGRATIONS
from shared import db, dead_letters
from shared.consumer import MessageProcessor
from shared.contracts.events.order import OrderClosed
from shared.dead_letters import Who
from shared.gauges import GaugeRefresher
from shared.messages import Incoming, RawMessage
from shared.unit import Unit, Units
from tests.e2e.journeys import Driver
from tests.integration.notify.support import notify, order_placed, paid
from tests.integration.ops.business import (
    deliver_paid_order,
    figures,
    place,
    running_system,
)
from tests.integration.order.support import place as place_order
from tests.support.events import new_order_id, published, resend, wrap
from tests.support.infra import Infra
from tests.support.kafka import TopicTail, publish_raw
from tests.support.polling import eventually
from tests.support.services import service

System = tuple[dict[str, Any], Shop]

# (service, metric, labels): what one card order paid, shipped and delivered moves by one
ONCE = (
    ("order", "fulfil_orders_placed_total", {}),
    ("payment", "fulfil_payments_requested_total", {"method": "card"}),
    ("payment", "fulfil_payments_total", {"method": "card", "outcome": "succeeded"}),
    ("logistics", "fulfil_shipments_shipped_total", {}),
    ("logistics", "fulfil_pay_to_ship_duration_seconds_count", {}),
    ("logistics", "fulfil_ship_to_deliver_duration_seconds_count", {}),
    ("notify", "fulfil_messages_total", {"template": "shipped", "channel": "sms"}),
    ("notify", "fulfil_messages_total", {"template": "shipped", "channel": "email"}),
    ("notify", "fulfil_messages_total", {"template": "delivered", "channel": "email"}),
)


@pytest.fixture(scope="module")
async def system(infra: Infra) -> AsyncIterator[System]:
    async for running in running_system(infra):
        yield running


def callbacks(found: Scrape) -> float:
    """The provider callbacks the payment service has answered."""
    return sum(
        s.value
        for s in found.samples["payment"]
        if s.name == "fulfil_http_request_duration_seconds_count"
        and "/webhooks/" in s.labels.get("route", "")
    )


def duplicates(before: Scrape, now: Scrape, service: str, kind: str) -> float:
    """How many more `kind` events `service` has skipped as seen before."""
    name, match = "fulfil_events_consumed_total", {"type": kind, "outcome": "duplicate"}
    return now.total(service, name, **match) - before.total(service, name, **match)


def moved(before: Scrape, after: Scrape) -> dict[str, float]:
    return {
        f"{service}:{name}{labels}": after.total(service, name, **labels)
        - before.total(service, name, **labels)
        for service, name, labels in ONCE
    }


async def test_an_order_delivered_moves_each_figure_by_one_even_when_redelivered(
    system: System, tail: TopicTail, infra: Infra
) -> None:
    state, shop = system
    before = await figures(state)
    order_id = await deliver_paid_order(shop, callbacks=3)  # the provider reports it 3 times
    # the order's placement and payment delivered again, as after a consumer's crash
    for kind in ("OrderPlaced", "OrderPaid"):
        record = (await published(tail, order_id, kind))[0]
        assert record.value is not None
        await publish_raw(infra.bootstrap, "orders.v1", record.value, key=record.key)

    async def settled() -> Scrape | None:
        now = await figures(state)
        redelivered = [
            duplicates(before, now, "payment", "OrderPlaced"),
            duplicates(before, now, "logistics", "OrderPaid"),
            callbacks(now) - callbacks(before) - 2,  # all three answered
        ]
        delivered = all(v >= 1 for v in moved(before, now).values())
        return now if delivered and all(n >= 1 for n in redelivered) else None

    after = await eventually(settled, timeout=60, interval=0.5, what="the figures moved")
    assert moved(before, after) == {key: 1 for key in moved(before, after)}
    pay_to_ship = after.total("logistics", "fulfil_pay_to_ship_duration_seconds_sum")
    assert pay_to_ship - before.total("logistics", "fulfil_pay_to_ship_duration_seconds_sum") > 0
    assert after.total("payment", "fulfil_payment_failures_total") == before.total(
        "payment", "fulfil_payment_failures_total"
    )


async def test_a_failed_payment_counts_once_by_its_reason(system: System) -> None:
    state, shop = system
    before = await figures(state)
    order_id = await place(shop)
    checkout = await Driver(shop).checkout(order_id)
    await shop.complete_checkout(checkout, "fail", reason="bank_limit", repeat=2)

    def failures(found: Scrape) -> tuple[float, float]:
        return (
            found.total("payment", "fulfil_payment_failures_total", reason="bank_limit"),
            found.total("payment", "fulfil_payments_total", method="card", outcome="failed"),
        )

    async def counted() -> Scrape | None:
        now = await figures(state)
        answered = callbacks(now) - callbacks(before) >= 2
        return now if answered and failures(now) != failures(before) else None

    after = await eventually(counted, timeout=30, interval=0.3, what="the failure counted")
    assert [a - b for a, b in zip(failures(after), failures(before), strict=True)] == [1, 1]
    assert after.total("payment", "fulfil_payments_total", outcome="succeeded") == before.total(
        "payment", "fulfil_payments_total", outcome="succeeded"
    )


async def test_an_order_closed_unpaid_counts_as_expired_once(system: System, infra: Infra) -> None:
    state, shop = system
    before = await figures(state)
    order_id = await place(shop)
    await Driver(shop).checkout(order_id)  # its payment is requested
    closed = wrap(OrderClosed(), order_id)  # the payment window passed, told twice
    await resend(infra, closed, closed)

    def expired(found: Scrape) -> float:
        return found.total("payment", "fulfil_payments_total", method="card", outcome="expired")

    async def counted() -> Scrape | None:
        now = await figures(state)
        told_twice = duplicates(before, now, "payment", "OrderClosed") >= 1
        return now if told_twice and expired(now) > expired(before) else None

    after = await eventually(counted, timeout=30, interval=0.3, what="the expiry counted")
    assert expired(after) - expired(before) == 1


@pytest.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(database, size=2)
    async with pool.acquire() as conn:
        await db.apply_migrations(conn, db.all_migrations("payment", PAYMENT_MIGRATIONS))
    try:
        yield pool
    finally:
        await pool.close()


def counting(counted: list[str], failing: set[str], *, pool: asyncpg.Pool) -> MessageProcessor:
    """A processor whose handler counts after commit, and fails for the orders `failing`
    names (for as long as they are in it)."""

    async def count(unit: Unit[Any], msg: Incoming[Any]) -> None:
        if msg.order_id in failing:
            raise ValueError("this order cannot be handled")
        unit.after_commit(lambda: counted.append(msg.order_id))

    units: Units[Any] = Units("payment", None)
    return MessageProcessor("payment", pool, {OrderClosed: count}, units, max_attempts=1)


def closed_at(offset: int, order_id: str) -> RawMessage:
    return RawMessage("orders.v1", 0, offset, b"k", wrap(OrderClosed(), order_id).to_bytes())


async def test_a_batch_rolled_back_and_handled_one_by_one_counts_each_message_once(
    pool: asyncpg.Pool,
) -> None:
    counted: list[str] = []
    ids = [new_order_id(), new_order_id(), new_order_id()]
    processor = counting(counted, failing={ids[1]}, pool=pool)
    outcomes = await processor.process_batch([closed_at(n, oid) for n, oid in enumerate(ids)])
    assert outcomes == ["handled", "dead_lettered", "handled"]
    assert sorted(counted) == sorted([ids[0], ids[2]])  # the rolled-back batch counted nothing


async def test_a_dead_letter_counts_once_when_its_replay_succeeds(pool: asyncpg.Pool) -> None:
    counted: list[str] = []
    order_id = new_order_id()
    failing = {order_id}
    processor = counting(counted, failing, pool=pool)
    assert await processor.process(closed_at(7, order_id)) == "dead_lettered"
    async with pool.acquire() as conn:
        letter_id = await conn.fetchval("SELECT id FROM dead_letters WHERE status = 'pending'")
    who = Who(role="ops", actor="ana")
    assert (await dead_letters.replay(processor, letter_id, who))["status"] == "pending"
    assert counted == []  # the failed replay rolled back to its savepoint
    failing.clear()  # the cause is fixed
    assert (await dead_letters.replay(processor, letter_id, who))["status"] == "replayed"
    assert (await dead_letters.replay(processor, letter_id, who))["outcome"] == "skipped"
    assert counted == [order_id]


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_the_gauges_show_dead_letters_pending_by_reason_and_timers_due(
    pool: asyncpg.Pool,
) -> None:
    failing = {new_order_id(), new_order_id()}
    processor = counting([], failing, pool=pool)
    for offset, order_id in enumerate(failing):
        await processor.process(closed_at(offset, order_id))
    await processor.process(RawMessage("orders.v1", 0, 9, b"k", b"not an envelope"))
    async with pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO timers (kind, key, due_at) VALUES
               ('test', 'due', now() - interval '1 minute'),
               ('test', 'later', now() + interval '1 hour')"""
        )
        undecodable = await conn.fetchval(
            "SELECT id FROM dead_letters WHERE reason = 'undecodable'"
        )
    refresher = GaugeRefresher(pool)
    await refresher.refresh()
    assert gauge("fulfil_dead_letters_pending", reason="handler_failed") == 2
    assert gauge("fulfil_dead_letters_pending", reason="undecodable") == 1
    assert gauge("fulfil_timers_due") == 1
    await dead_letters.discard(pool, undecodable, Who(role="ops", actor="ana"), "junk")
    await refresher.refresh()
    assert gauge("fulfil_dead_letters_pending", reason="undecodable") == 0  # gone: zero
    assert gauge("fulfil_dead_letters_pending", reason="handler_failed") == 2


async def test_the_order_gauge_shows_orders_by_status(infra: Infra) -> None:
    dsn = await infra.create_database("gauges_order")
    async with service(build_order, OrderSettings, infra, dsn) as order_service:
        await place_order(order_service)
        await place_order(order_service)

        async def shown() -> dict[str, float | None] | None:
            # the service's own refresher may read between the two orders: read again
            await order_service.gauges.refresh()
            found = {s: gauge("fulfil_orders_by_status", status=s) for s in STATUSES}
            return found if sum(v or 0 for v in found.values()) == 2 else None

        # each order in exactly one status (placed, or cancelled already when a logistics
        # service elsewhere on the broker answered it was short of stock)
        found = await eventually(shown, timeout=10, what="each order in one status")
    assert found["completed"] == 0  # every status is shown from the first refresh on


@pytest.fixture
async def sinks() -> AsyncIterator[Sinks]:
    smtp_port, http_port = free_ports(2)
    started = await Sinks(smtp_port, http_port).start()
    try:
        yield started
    finally:
        await started.stop()


def reminder_figures(variant: str) -> dict[str, float]:
    """What this process's notify counted for the wording `variant`."""
    return {
        "sent": gauge("fulfil_reminders_sent_total", variant=variant) or 0,
        "converted": gauge("fulfil_reminder_conversions_total", variant=variant) or 0,
        "reminder messages": sum(
            gauge("fulfil_messages_total", template="payment_reminder", channel=c, outcome="sent")
            or 0
            for c in ("email", "sms")
        ),
        "payments told again": gauge(
            "fulfil_events_consumed_total", topic="orders.v1", type="OrderPaid", outcome="duplicate"
        )
        or 0,
    }


async def test_a_reminder_and_the_payment_after_it_count_once_for_its_wording(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    order_id = new_order_id()
    reminding = {"reminder_offsets_seconds": [1.0], "reminder_max": 1}
    async with notify(infra, database, sinks, **reminding) as runtime:
        variant = domain.variant_for(order_id, runtime.deps.settings.reminder_variants)
        before = reminder_figures(variant)

        def moved() -> dict[str, float]:
            return {k: v - before[k] for k, v in reminder_figures(variant).items()}

        async def reminded() -> bool:
            return moved()["reminder messages"] >= 2  # by email and SMS

        async def converted() -> bool:
            return moved()["converted"] >= 1 and moved()["payments told again"] >= 1

        await resend(infra, wrap(order_placed(order_id, due_in=60), order_id))
        await eventually(reminded, timeout=30, what="the reminder")
        paid_once = wrap(paid(), order_id)
        await resend(infra, paid_once, paid_once)  # the payment told twice
        await eventually(converted, timeout=30, what="the conversion and the duplicate")
    assert moved() == {"sent": 1, "converted": 1, "reminder messages": 2, "payments told again": 1}
