"""Reconciliation against the Alipay gateway stub: a payment whose notify was lost is found
by asking Alipay, a notify arriving after that changes nothing, and the daily report's
totals match the ledger, with each attempt compared with what Alipay says."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest_asyncio

from services.payment.steps.reconcile import LOCK, reconcile_once
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import OrderClosed
from shared.runtime import Runtime
from tests.integration.payment.alipay_support import Alipay, alipay_service, driving
from tests.integration.payment.support import approved
from tests.support import db
from tests.support.alipay_stub import AlipayStub
from tests.support.http import OPS, SHOP
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.polling import eventually


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def running(infra: Infra) -> AsyncIterator[tuple[Runtime, AlipayStub]]:
    async with alipay_service(
        infra, reconcile_every_seconds=0.3, reconcile_after_seconds=0.5
    ) as started:
        yield started


@pytest_asyncio.fixture(loop_scope="session")
async def alipay(
    infra: Infra, running: tuple[Runtime, AlipayStub], tail: TopicTail
) -> AsyncIterator[Alipay]:
    async with driving(infra, running, tail) as driven:
        yield driven


async def attempt_row(alipay: Alipay, attempt_id: str) -> dict[str, object]:
    [row] = await db.rows(
        alipay.runtime, "SELECT * FROM attempts WHERE attempt_id = $1", attempt_id
    )
    return row


async def test_a_payment_whose_notify_was_lost_is_found_by_asking_alipay(alipay: Alipay) -> None:
    order_id, request = await alipay.opened(PaymentMethod.WALLET, 7_700)
    trade = alipay.stub.buyer_pays(request["attempt_id"], notify=False)  # the notify is lost
    alipay.stub.fail_next("http_500", "lost")  # and the first queries fail

    [succeeded] = await alipay.pay.published(order_id, "PaymentSucceeded")
    assert (succeeded["provider_reference"], succeeded["amount"]["amount"]) == (
        trade.trade_no,
        7_700,
    )
    queries = [
        c
        for c in alipay.stub.calls_of("alipay.trade.query")
        if c.biz == {"out_trade_no": request["attempt_id"]}
    ]
    assert len(queries) >= 3, "asked again after a 500 and a lost answer"
    row = await attempt_row(alipay, request["attempt_id"])
    assert (row["status"], row["provider_state"]) == ("succeeded", "final")

    late = await alipay.post_notify(alipay.stub.notify(trade))  # the notify comes after all
    assert (late.status_code, late.text) == (200, "success")
    body = await alipay.pay.view(order_id)
    assert body["status"] == "paid"
    assert [(e["kind"], e["amount"]) for e in body["ledger"]] == [("charge", 7_700)]
    assert await alipay.pay.outbox(order_id) == ["PaymentRequested", "PaymentSucceeded"]


async def test_a_payment_made_as_the_order_closed_is_found_and_refunded(alipay: Alipay) -> None:
    order_id, request = await alipay.opened(PaymentMethod.WALLET, 4_400)
    await alipay.pay.send(OrderClosed(), order_id)  # the window ended: the attempt expired
    await alipay.pay.view_when(order_id, "expired")
    trade = alipay.stub.buyer_pays(request["attempt_id"], notify=False)  # paid just before

    [refund] = await alipay.pay.published(order_id, "RefundPaid")
    assert (refund["reason"], refund["amount"]["amount"]) == ("late_payment", 4_400)
    assert [k for n, k, _ in alipay.stub.refunds_paid if n == trade.trade_no] == [
        refund["refund_id"]
    ]
    body = await alipay.pay.view(order_id)
    assert (body["status"], body["captured"], body["refunded"]) == ("expired", 4_400, 4_400)


async def test_one_replica_reconciles_at_a_time(alipay: Alipay) -> None:
    other = await asyncpg.connect(alipay.runtime.settings.database_url)
    try:
        await other.execute("SELECT pg_advisory_lock($1)", LOCK)  # another replica's pass
        assert await reconcile_once(alipay.runtime) is None
        await other.execute("SELECT pg_advisory_unlock($1)", LOCK)

        async def ran() -> bool:  # (this replica's own loop may hold it for a moment)
            return await reconcile_once(alipay.runtime) is not None

        await eventually(ran, what="a pass once the lock is free")
    finally:
        await other.close()


async def test_a_trade_closed_at_alipay_fails_the_attempt(alipay: Alipay) -> None:
    order_id, request = await alipay.opened(PaymentMethod.ONLINE_BANKING, 3_300)
    alipay.trade(request).status = "TRADE_CLOSED"  # timed out at Alipay; its notify lost
    [failed] = await alipay.pay.published(order_id, "PaymentFailed")
    assert (failed["attempt_id"], failed["reason"]) == (request["attempt_id"], "trade_closed")
    assert failed["retry_allowed"] is True


async def test_a_trade_still_waiting_is_asked_again_later_and_nothing_changes(
    alipay: Alipay,
) -> None:
    order_id, request = await alipay.opened(PaymentMethod.WALLET, 2_200)

    async def asked_twice() -> bool:
        calls = alipay.stub.calls_of("alipay.trade.query")
        return sum(c.biz == {"out_trade_no": request["attempt_id"]} for c in calls) >= 2

    await eventually(asked_twice, what="asked again")
    row = await attempt_row(alipay, request["attempt_id"])
    assert (row["status"], row["provider_state"]) == ("open", "pending")
    assert (await alipay.pay.view(order_id))["status"] == "awaiting_payment"


async def test_the_daily_report_matches_the_ledger_and_alipay(alipay: Alipay) -> None:
    paid_orders = []
    for amount in (10_000, 2_500):
        order_id, request = await alipay.opened(PaymentMethod.WALLET, amount)
        alipay.stub.buyer_pays(request["attempt_id"])
        await alipay.pay.published(order_id, "PaymentSucceeded")
        paid_orders.append((order_id, request))
    await alipay.pay.send(approved("rr_rec_1", 4_000), paid_orders[0][0])
    await alipay.pay.published(paid_orders[0][0], "RefundPaid")
    today = datetime.now(UTC).date()

    response = await alipay.pay.http.get(f"/v1/ops/reconciliation?date={today}", headers=OPS)
    assert response.status_code == 200, response.text
    report = response.json()
    start = datetime(today.year, today.month, today.day, tzinfo=UTC)
    [ledger] = await db.rows(
        alipay.runtime,
        """SELECT coalesce(sum(amount) FILTER (WHERE kind = 'charge'), 0) AS captured,
                  coalesce(sum(amount) FILTER (WHERE kind = 'refund'), 0) AS refunded
           FROM ledger WHERE provider = 'alipay' AND recorded_at >= $1 AND recorded_at < $2""",
        start,
        start + timedelta(days=1),
    )
    [provider] = report["providers"]
    [totals] = provider["totals"]
    assert provider["provider"] == "alipay"
    assert (totals["captured"], totals["refunded"], totals["disputed"]) == (
        ledger["captured"],
        ledger["refunded"],
        0,
    )
    assert totals["captured"] >= 12_500 and totals["refunded"] >= 4_000
    assert totals["net"] == totals["captured"] - totals["refunded"]
    check = report["provider_check"]
    assert check["attempts"] >= 2 and check["differences"] == []
    assert check["agreed"] == check["attempts"]

    alipay.trade(paid_orders[1][1]).status = "TRADE_CLOSED"  # Alipay now disagrees
    again = (await alipay.pay.http.get(f"/v1/ops/reconciliation?date={today}", headers=OPS)).json()
    [difference] = again["provider_check"]["differences"]
    assert difference["attempt_id"] == paid_orders[1][1]["attempt_id"]
    assert (difference["problem"], difference["ledger_charged"]) == ("state_differs", 2_500)
    assert (difference["provider_state"], difference["provider_captured"]) == ("failed", None)


async def test_the_report_wants_the_ops_key_and_a_date(alipay: Alipay) -> None:
    http = alipay.pay.http
    assert (await http.get("/v1/ops/reconciliation?date=2026-01-01")).status_code == 401
    shop = await http.get("/v1/ops/reconciliation?date=2026-01-01", headers=SHOP)
    assert shop.status_code == 403
    bad = await http.get("/v1/ops/reconciliation?date=yesterday", headers=OPS)
    assert bad.status_code == 422 and "date" in bad.text
    assert bad.headers["content-type"].startswith("application/problem+json")
    empty = (await http.get("/v1/ops/reconciliation?date=2001-01-01", headers=OPS)).json()
    assert (empty["providers"], empty["provider_check"]["attempts"]) == ([], 0)
    quick = await http.get("/v1/ops/reconciliation?date=2001-01-01&check=false", headers=OPS)
    assert (quick.status_code, quick.json()["provider_check"]) == (200, None)
