"""An exchange on the order, on the real broker and database: each step returns, payment
and logistics tell joins the timeline once, however often it is delivered or told again,
in the three languages; the order's stage, status and payment never change for it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from shared.contracts.envelope import Money
from shared.contracts.events import logistics as lg
from shared.contracts.events import payment as pm
from shared.contracts.events import returns as rt
from shared.contracts.events.common import ExchangeItem, LineQuantity
from shared.runtime import Runtime
from tests.integration.order.support import (
    ADDRESS,
    CNY,
    delivered,
    kinds,
    place,
    shipped,
    succeeded,
    until,
)
from tests.support.events import now, resend, send_all
from tests.support.http import client, customer

LINE = LineQuantity(line_id="l1", sku="TEE-RED-M", quantity=1)
REPLACEMENT = ExchangeItem(
    sku="TEE-RED-L",
    name="Cotton tee",
    variant="red / L",
    quantity=1,
    unit_price=Money(amount=5_900, currency=CNY),
)
STEPS = (
    "exchange_requested",
    "exchange_accepted",
    "exchange_paid",
    "exchange_return_received",
    "exchange_shipped",
)


def requested(exchange_id: str) -> rt.ExchangeRequested:
    return rt.ExchangeRequested(
        exchange_id=exchange_id,
        reason="wrong_size",
        line=LINE,
        replacement_sku="TEE-RED-L",
        actor="customer",
    )


def accepted(exchange_id: str) -> rt.ExchangeAccepted:
    return rt.ExchangeAccepted(
        exchange_id=exchange_id,
        reason="wrong_size",
        line=LINE,
        replacement=REPLACEMENT,
        difference=Money(amount=1_000, currency=CNY),
        settlement="charge",
        ships="on_return",
        return_shipping_paid_by="customer",
        pay_by=now() + timedelta(hours=48),
    )


def paid(exchange_id: str) -> pm.ExchangePaymentSucceeded:
    return pm.ExchangePaymentSucceeded(
        exchange_id=exchange_id,
        attempt_id=f"att_{exchange_id}",
        amount=Money(amount=1_000, currency=CNY),
        provider="sandbox",
        provider_reference=f"ref-{exchange_id}",
        paid_at=now(),
    )


def exchange_shipped(exchange_id: str) -> lg.ExchangeShipped:
    return lg.ExchangeShipped(
        exchange_id=exchange_id,
        shipment_id=f"shp_{exchange_id}",
        courier="sf",
        tracking_number="SF2468",
        replacement=REPLACEMENT,
        address=ADDRESS,
        shipped_at=now(),
    )


async def delivered_order(service: Runtime, locale: str = "zh-CN") -> tuple[str, dict[str, Any]]:
    """A paid order, shipped and delivered, as it stands before any exchange."""
    order_id = str((await place(service, locale=locale))["order_id"])
    parcel = f"shp_{uuid.uuid4().hex[:8]}"
    await send_all(service, order_id, succeeded("a1"), shipped(parcel), delivered(parcel))
    return order_id, await until(service, order_id, lambda o: o["status"] == "delivered")


def standing(order: dict[str, Any]) -> tuple[Any, ...]:
    return (order["status"], order["payment"], order.get("refunds"), order["shipment"])


async def said(service: Runtime, order_id: str, lang: str) -> dict[str, str]:
    async with client(service) as http:
        response = await http.get(
            f"/v1/orders/{order_id}", headers=customer(order_id), params={"lang": lang}
        )
    assert response.status_code == 200, response.text
    return {e["kind"]: e["text"] for e in response.json()["timeline"]}


async def test_each_step_joins_the_timeline_once_and_the_order_stays_delivered(
    service: Runtime,
) -> None:
    order_id, before = await delivered_order(service)
    exchange_id = f"exc_{uuid.uuid4().hex[:8]}"
    asked, took = await send_all(service, order_id, requested(exchange_id), accepted(exchange_id))
    await resend(service, asked, took)  # each delivered twice
    await send_all(service, order_id, accepted(exchange_id))  # told again under another id
    [money] = await send_all(service, order_id, paid(exchange_id))
    await resend(service, money)
    [back] = await send_all(
        service,
        order_id,
        rt.ExchangeReturnReceived(
            exchange_id=exchange_id, lines=(LINE,), received_at=now(), actor="operations"
        ),
    )
    await resend(service, back)
    [sent] = await send_all(service, order_id, exchange_shipped(exchange_id))
    await resend(service, sent)
    # read after everything before them on their topics (shipments.v1, returns.v1)
    marker = lg.ShipmentPicked(shipment_id="shp_marker", picked_at=now())
    other = rt.ExchangeRefused(exchange_id="exc_marker", reason="out_of_stock", message="")
    await send_all(service, order_id, marker, other)
    done = {*STEPS, "picked", "exchange_refused"}
    order = await until(service, order_id, lambda o: done <= set(kinds(o)))
    assert all(kinds(order).count(kind) == 1 for kind in STEPS), kinds(order)
    assert standing(order) == standing(before), "the order's state never changes"
    entry = next(e for e in order["timeline"] if e["kind"] == "exchange_accepted")
    assert entry["details"]["exchange_id"] == exchange_id
    assert entry["details"]["lines"][0]["name"] == "Cotton tee"


async def test_a_refused_and_a_cancelled_exchange_are_said_in_the_three_languages(
    service: Runtime,
) -> None:
    order_id, before = await delivered_order(service, locale="zh-TW")
    refused_id, cancelled_id = f"exc_{uuid.uuid4().hex[:8]}", f"exc_{uuid.uuid4().hex[:8]}"
    await send_all(
        service,
        order_id,
        requested(refused_id),
        rt.ExchangeRefused(exchange_id=refused_id, reason="out_of_stock", message="0 left"),
        requested(cancelled_id),
        accepted(cancelled_id),
        rt.ExchangeCancelled(exchange_id=cancelled_id, reason="unpaid"),
    )
    order = await until(service, order_id, lambda o: "exchange_cancelled" in kinds(o))
    assert kinds(order).count("exchange_requested") == 2, "one per exchange"
    assert standing(order) == standing(before)
    english = await said(service, order_id, "en")
    assert english["exchange_refused"].startswith(
        "The exchange cannot be made: the variant asked for is out of stock."
    )
    assert "you may ask for a refund instead" in english["exchange_refused"]
    assert english["exchange_accepted"].startswith(
        "Exchange accepted: Cotton tee (red / L) \u00d7 1 is set aside for you. "
        "Please send back Cotton tee (red / M) \u00d7 1."
    )
    to_pay = "You pay the difference of CN¥10.00; a payment link follows."
    assert to_pay in english["exchange_accepted"]
    assert english["exchange_cancelled"].startswith("The exchange is cancelled: the difference")
    simplified = await said(service, order_id, "zh-CN")
    traditional = await said(service, order_id, "zh-TW")
    assert simplified["exchange_refused"].startswith("换货申请未能办理")
    assert "您选择的款式暂时缺货" in simplified["exchange_refused"]
    assert "改为申请退款" in simplified["exchange_refused"]
    assert "补付差价 ¥10.00" in simplified["exchange_accepted"]
    assert "您選擇的款式目前缺貨" in traditional["exchange_refused"]
    assert "差額未在期限內付款" in traditional["exchange_cancelled"]
    assert traditional["exchange_requested"].startswith("您申請將 Cotton tee (red / M) \u00d7 1")


async def test_the_replacement_shipped_names_the_courier_and_its_tracking_page(
    service: Runtime,
) -> None:
    order_id, _ = await delivered_order(service, locale="en")
    exchange_id = f"exc_{uuid.uuid4().hex[:8]}"
    await send_all(service, order_id, exchange_shipped(exchange_id))
    await until(service, order_id, lambda o: "exchange_shipped" in kinds(o))
    text = (await said(service, order_id, "en"))["exchange_shipped"]
    assert text.startswith("Your exchange item Cotton tee (red / L) \u00d7 1 has shipped with SF")
    assert "SF2468" in text and "sf-express.com" in text
