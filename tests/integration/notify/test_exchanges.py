"""Exchanges told to the customer on the real broker and database: accepted, the difference
to pay with its link and deadline, the replacement shipped, refused and cancelled, each
once per channel in the customer's language; an event delivered twice, or told again under
another event id, tells nothing more; at night the answer and the payment request go at
once and the rest waits for the morning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deploy.local.sinks import Sinks
from shared.contracts.envelope import Money
from shared.contracts.events.common import ExchangeItem, LineQuantity
from shared.contracts.events.logistics import ExchangeDelivered, ExchangeShipped
from shared.contracts.events.payment import ExchangePaymentRequested
from shared.contracts.events.returns import ExchangeAccepted, ExchangeCancelled, ExchangeRefused
from tests.integration.notify.support import notify, order_placed, received
from tests.support.db import rows, until_handled
from tests.support.events import new_id, new_order_id, resend, send, send_all
from tests.support.infra import Infra

PAY_BY = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
CNY = "CNY"


def replacement() -> ExchangeItem:
    return ExchangeItem(
        sku="TEE-RED-L",
        name="Cotton T-shirt",
        variant="Red / L",
        quantity=1,
        unit_price=Money(amount=8900, currency=CNY),
    )


def accepted(exchange_id: str, **changes: object) -> ExchangeAccepted:
    event = ExchangeAccepted(
        exchange_id=exchange_id,
        reason="wrong_size",
        line=LineQuantity(line_id="l1", sku="TEE-RED-M", quantity=1),
        replacement=replacement(),
        difference=Money(amount=1000, currency=CNY),
        settlement="charge",
        ships="on_return",
        return_shipping_paid_by="customer",
        pay_by=PAY_BY,
    )
    return event.model_copy(update=changes)


async def _told(runtime: object, order_id: str) -> list[tuple[str, str, str]]:
    found = await rows(
        runtime,  # type: ignore[arg-type]
        "SELECT template, channel, locale FROM messages WHERE order_id = $1 ORDER BY seq",
        order_id,
    )
    return sorted((r["template"], r["channel"], r["locale"]) for r in found)


async def test_accepted_the_difference_to_pay_the_replacement_shipped_and_delivered_told_once(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    order_id, exchange_id = new_order_id(), new_id("exc")
    placed = order_placed(order_id, locale="zh-TW")
    checkout = f"https://pay.example/checkout/{exchange_id}"
    async with notify(infra, database, sinks) as runtime:
        await send_all(infra, order_id, placed)
        first = await send(infra, accepted(exchange_id), order_id)
        await resend(infra, first)  # delivered twice
        again = await send(infra, accepted(exchange_id), order_id)  # told again, another id
        pay = ExchangePaymentRequested(
            exchange_id=exchange_id,
            attempt_id=new_id("att"),
            amount=Money(amount=1000, currency=CNY),
            checkout_url=checkout,
            expires_at=PAY_BY,
        )
        asked = await send(infra, pay, order_id)
        await resend(infra, asked)
        shipped = ExchangeShipped(
            exchange_id=exchange_id,
            shipment_id=new_id("shp"),
            courier="sf",
            tracking_number="SF7788",
            replacement=replacement(),
            address=placed.address,
            shipped_at=datetime.now(UTC),
        )
        last = await send(infra, shipped, order_id)
        await resend(infra, last)
        arrived = ExchangeDelivered(
            exchange_id=exchange_id,
            shipment_id=shipped.shipment_id,
            courier="sf",
            tracking_number="SF7788",
            delivered_at=datetime.now(UTC),
        )
        delivered = await send(infra, arrived, order_id)
        await resend(infra, delivered)
        await until_handled(runtime, first, again, asked, last, delivered)
        got = await received(sinks, placed.contact, 10)  # confirmation + four, two channels
        told = await _told(runtime, order_id)
    templates = (
        "order_confirmation",
        "exchange_accepted",
        "exchange_payment_requested",
        "exchange_shipped",
        "exchange_delivered",
    )
    assert told == sorted((t, c, "zh-TW") for t in templates for c in ("email", "sms"))
    accepted_said = [m for m in got if "換貨申請已通過" in m["text"]]
    assert {m["channel"] for m in accepted_said} == {"email", "sms"}
    assert all("¥10.00" in m["text"] and "Red / L" in m["text"] for m in accepted_said)
    to_pay = [m for m in got if checkout in m["text"]]
    assert {m["channel"] for m in to_pay} == {"email", "sms"}
    assert all("2026年12月8日 10:00" in m["text"] for m in to_pay), "the deadline, local"
    here = [m for m in got if "換貨商品已送達" in f"{m.get('subject')} {m['text']}"]
    sent = [m for m in got if "SF7788" in m["text"] and m not in here]
    assert {m["channel"] for m in sent} == {"email", "sms"}
    assert {m["channel"] for m in here} == {"email", "sms"}, "the replacement delivered, once"
    assert all("順豐速運" in m["text"] and "Red / L" in m["text"] for m in sent)


async def test_at_night_the_answer_goes_at_once_and_a_cancellation_waits_for_the_morning(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()
    order_id = new_order_id()
    placed = order_placed(order_id, locale="en", time_zone="UTC", due_in=86400)
    async with notify(
        infra, database, sinks, quiet_hours_start=start.isoformat(), quiet_hours_end=end.isoformat()
    ) as runtime:
        await send_all(infra, order_id, placed)
        refused = ExchangeRefused(
            exchange_id=new_id("exc"), reason="not_same_product", message="another product"
        )
        told_no = await send(infra, refused, order_id)
        await resend(infra, told_no)
        exchange_id = new_id("exc")
        await send(infra, accepted(exchange_id, settlement="refund", pay_by=None), order_id)
        cancelled = await send(
            infra, ExchangeCancelled(exchange_id=exchange_id, reason="unpaid"), order_id
        )
        await until_handled(runtime, told_no, cancelled)
        got = await received(sinks, placed.contact, 6)  # confirmation, refusal, acceptance
        held = await rows(
            runtime,
            "SELECT template, channel, status, send_after FROM messages WHERE order_id = $1"
            " AND template NOT IN ('order_confirmation', 'exchange_refused', 'exchange_accepted')",
            order_id,
        )
        told = await _told(runtime, order_id)
    assert sum(t == "exchange_refused" for t, _c, _l in told) == 2, "once per channel"
    no = [m for m in got if "cannot make" in m["text"]]
    assert {m["channel"] for m in no} == {"email", "sms"}
    assert all("a different product" in m["text"] and "refund" in m["text"] for m in no)
    said = ("we accepted your exchange", "exchange accepted for order")  # email, SMS
    yes = {m["channel"]: m["text"] for m in got if any(w in m["text"] for w in said)}
    assert "refund the difference once we receive your return" in yes["email"]
    assert "¥10.00 refunded once yours arrives" in yes["sms"]
    assert sorted((r["template"], r["channel"]) for r in held) == [
        ("exchange_cancelled", "email"),
        ("exchange_cancelled", "sms"),
    ]
    assert all(r["status"] == "pending" and r["send_after"] > now for r in held)
