"""Alipay end to end against its local gateway: paid by the notify, refunds by out_request_no,
and the provider's faults (500, a timeout, an answer lost, unavailable) retried with the
same key until paid once, or given up with the reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlencode

import pytest_asyncio

from shared.contracts.events.common import PaymentMethod
from shared.runtime import Runtime
from tests.integration.payment.alipay_support import Alipay, alipay_service, driving
from tests.integration.payment.support import approved, assert_balanced
from tests.support.alipay_stub import AlipayStub
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.polling import eventually


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def running(infra: Infra) -> AsyncIterator[tuple[Runtime, AlipayStub]]:
    async with alipay_service(infra, refund_max_attempts=6) as started:
        yield started


@pytest_asyncio.fixture(loop_scope="session")
async def alipay(
    infra: Infra, running: tuple[Runtime, AlipayStub], tail: TopicTail
) -> AsyncIterator[Alipay]:
    async with driving(infra, running, tail) as driven:
        yield driven


async def paid(alipay: Alipay, amount: int) -> tuple[str, str]:
    """An order paid by wallet through Alipay's notify; (order id, Alipay's trade_no)."""
    order_id, request = await alipay.opened(PaymentMethod.WALLET, amount)
    trade = alipay.stub.buyer_pays(request["attempt_id"])
    await alipay.pay.published(order_id, "PaymentSucceeded")
    return order_id, trade.trade_no


async def test_a_wallet_order_is_paid_by_alipays_notify_answered_success(alipay: Alipay) -> None:
    order_id, request = await alipay.opened(PaymentMethod.WALLET, 12_990)
    trade = alipay.stub.buyer_pays(request["attempt_id"])

    [succeeded] = await alipay.pay.published(order_id, "PaymentSucceeded")
    assert succeeded["amount"] == {"amount": 12_990, "currency": "CNY"}
    assert (succeeded["provider"], succeeded["provider_reference"]) == ("alipay", trade.trade_no)
    await eventually(lambda: _answered(alipay), what="the notify answered")
    assert alipay.stub.notify_answers[-1] == (200, "success")

    again = await alipay.post_notify(alipay.stub.notify(trade))  # Alipay sends it again
    assert (again.status_code, again.text) == (200, "success")
    body = await alipay.pay.view_when(order_id, "paid")
    assert [(e["kind"], e["amount"], e["provider"]) for e in body["ledger"]] == [
        ("charge", 12_990, "alipay")
    ]
    assert await alipay.pay.outbox(order_id) == ["PaymentRequested", "PaymentSucceeded"]


async def _answered(alipay: Alipay) -> bool:
    return bool(alipay.stub.notify_answers)


async def test_a_forged_or_tampered_notify_is_refused_and_changes_nothing(
    alipay: Alipay,
) -> None:
    order_id, request = await alipay.opened(PaymentMethod.ONLINE_BANKING, 5_000)
    trade = alipay.trade(request)
    trade.status = "TRADE_SUCCESS"  # paid at Alipay, but only forgeries reach us
    genuine = dict(parse_qsl(alipay.stub.notify(trade).decode()))
    tampered = urlencode({**genuine, "total_amount": "0.01"}).encode()
    forged = urlencode({**genuine, "sign": "c2lnbmF0dXJl"}).encode()
    for body in (tampered, forged):
        refused = await alipay.post_notify(body)
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.text != "success"
    waiting = await alipay.post_notify(alipay.stub.notify(trade, trade_status="WAIT_BUYER_PAY"))
    assert (waiting.status_code, waiting.text) == (200, "success")
    view = await alipay.pay.view(order_id)
    assert (view["status"], view["ledger"]) == ("awaiting_payment", [])


async def test_a_refund_is_paid_once_with_out_request_no(alipay: Alipay) -> None:
    order_id, trade_no = await paid(alipay, 8_888)
    await alipay.pay.send(approved("rr_ali_1", 3_000), order_id)
    [refund] = await alipay.pay.published(order_id, "RefundPaid")
    assert refund["amount"]["amount"] == 3_000
    [call] = [
        c for c in alipay.stub.calls_of("alipay.trade.refund") if c.biz["trade_no"] == trade_no
    ]
    assert call.biz == {
        "trade_no": trade_no,
        "refund_amount": "30.00",
        "out_request_no": refund["refund_id"],
    }
    assert [(n, k, f) for n, k, f in alipay.stub.refunds_paid if n == trade_no] == [
        (trade_no, refund["refund_id"], 3_000)
    ]
    body = await alipay.pay.view_when(order_id, "partially_refunded")
    assert_balanced(body)


async def test_faults_are_retried_with_the_same_out_request_no_and_refund_once(
    alipay: Alipay,
) -> None:
    order_id, trade_no = await paid(alipay, 6_000)
    alipay.stub.fail_next("http_500", "too_many", "timeout", "lost", "forged_answer")
    await alipay.pay.send(approved("rr_ali_faults", 6_000), order_id)

    [refund] = await alipay.pay.published(order_id, "RefundPaid")
    calls = [
        c for c in alipay.stub.calls_of("alipay.trade.refund") if c.biz["trade_no"] == trade_no
    ]
    assert len(calls) == 6, "each fault is asked again, with the same key"
    assert {c.biz["out_request_no"] for c in calls} == {refund["refund_id"]}
    assert [k for n, k, _ in alipay.stub.refunds_paid if n == trade_no] == [refund["refund_id"]]
    effect = await alipay.effect("refund", refund["refund_id"], "done")
    assert effect["attempts"] == 6
    body = await alipay.pay.view_when(order_id, "refunded")
    assert (body["refunded"], body["net"]) == (6_000, 0)


async def test_a_refund_alipay_cannot_pay_is_given_up_with_the_reason(alipay: Alipay) -> None:
    order_id, trade_no = await paid(alipay, 4_000)
    alipay.stub.fail_next("unavailable", "system_error", *["unavailable"] * 4)
    await alipay.pay.send(approved("rr_ali_down", 4_000), order_id)

    failed = await alipay.pay.published(order_id, "RefundFailed", count=2)
    assert (failed[0]["will_retry"], failed[-1]["will_retry"]) == (True, False)
    assert failed[-1]["reason"] == "provider_unavailable: isp.unknow-error"
    refund_id = failed[-1]["refund_id"]
    effect = await alipay.effect("refund", refund_id, "failed")
    assert (effect["attempts"], effect["last_error"]) == (6, failed[-1]["reason"])
    calls = [
        c for c in alipay.stub.calls_of("alipay.trade.refund") if c.biz["trade_no"] == trade_no
    ]
    assert [c.biz["out_request_no"] for c in calls] == [refund_id] * 6
    assert [n for n, _, _ in alipay.stub.refunds_paid if n == trade_no] == []
    [refund] = (await alipay.pay.view(order_id))["refunds"]
    assert (refund["status"], refund["last_error"]) == ("failed", failed[-1]["reason"])


async def test_a_refund_alipay_refuses_for_good_is_not_asked_again(alipay: Alipay) -> None:
    order_id, trade_no = await paid(alipay, 1_500)
    [trade] = [t for t in alipay.stub.trades.values() if t.trade_no == trade_no]
    trade.status = "TRADE_FINISHED"  # past its refund period at Alipay
    await alipay.pay.send(approved("rr_ali_finished", 1_500), order_id)

    [failed] = await alipay.pay.published(order_id, "RefundFailed")
    assert (failed["reason"], failed["will_retry"]) == ("acq.trade_has_finished", False)
    effect = await alipay.effect("refund", failed["refund_id"], "failed")
    assert effect["attempts"] == 1
    calls = alipay.stub.calls_of("alipay.trade.refund")
    assert [c.biz["trade_no"] for c in calls].count(trade_no) == 1
