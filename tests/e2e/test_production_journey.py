"""One order through the whole system started as production starts it (`ENV=production`,
every secret from a file, no sandbox anywhere): placed over HTTP, paid through Stripe's
Checkout Session (stripe-mock) and its signed webhook, booked and tracked to delivered
through Kuaidi100 (the stub, by signed pushes), refunded through Stripe, its messages sent
by email to an SMTP relay that wants STARTTLS and AUTH, and by SMS through Aliyun (the
stub). Each effect happens once: one session, one charge, one booking, one subscription,
one refund, one email and one SMS per message."""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.demo.shop import Edges, Shop, order_body
from deploy.local.stripe_mock import StripeMock
from services.notify import domain as notify_domain
from tests.e2e.conftest import E2E_ENV
from tests.e2e.journeys import Driver
from tests.support.infra import Infra
from tests.support.kuaidi100_stub import Kuaidi100Stub
from tests.support.polling import eventually
from tests.support.production_system import ProductionSystem, as_json, strong
from tests.support.sms_providers import SmsProviders
from tests.support.smtp_relay import PASSWORD, USER, Relay, running_relay
from tests.support.stripe import API_KEY, WEBHOOK_SECRET, checkout_session, event, signature
from tests.support.tls import Certificates, make_certificates

SKU = {"sku": "E2E-PROD-TEAPOT", "name": "Clay teapot", "variant": None, "price": 12800}
PHONE = "+86 139 1234 5678"
SENDER = {"name": "Fulfil Shop", "mobile": "13900000000", "printAddr": "广东省深圳市南山区1号"}
KD_KEY, KD_CUSTOMER, KD_SECRET, KD_SALT = (
    "kd" + secrets.token_hex(5), secrets.token_hex(16).upper(), secrets.token_hex(16),
    "salt-" + secrets.token_hex(12),
)  # fmt: skip


def _prefixed(service: str, values: dict[str, str]) -> dict[str, str]:
    """E2E_ENV's settings of `service`, without the prefix."""
    prefix = f"{service.upper()}_"
    return {k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)}


def settings(
    system: ProductionSystem,
    stripe: StripeMock,
    kd: Kuaidi100Stub,
    sms: SmsProviders,
    relay: Relay,
    certificates: Certificates,
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """Each service's plain settings and its secrets, as a shop would configure them."""
    timings = {name: _prefixed(name, E2E_ENV) for name in system.ports}
    timings["logistics"].pop("SANDBOX_AUTO_ADVANCE_SECONDS", None)
    timings["order"]["PAYMENT_WINDOW_SECONDS"] = "600"  # Stripe's page takes its time
    timings["order"]["AUTO_CONFIRM_SECONDS"] = "600"  # delivered until the refund
    templates = {t: {"code": f"SMS_{480000 + i}", "params": {"order": "order_ref"}}
                 for i, t in enumerate(notify_domain.TEMPLATES)}  # fmt: skip
    for t in templates.values():
        sms.aliyun.templates[t["code"]] = "您的订单${order}有新进展."
    plain = {
        **timings,
        "payment": {
            **timings["payment"],
            "PROVIDERS_BY_METHOD": as_json({"card": "stripe"}),
            "DEFAULT_PROVIDER": "stripe",
            "STRIPE_API_BASE": stripe.api_base,
            "STRIPE_SUCCESS_URL": "https://shop.example/orders/{order_id}/paid",
        },
        "logistics": {
            **timings["logistics"],
            "COURIERS": as_json(["sf"]),
            "KUAIDI100_COURIERS": as_json({"sf": "shunfeng"}),
            "KUAIDI100_CUSTOMER": KD_CUSTOMER,
            "KUAIDI100_API_BASE": kd.base,
            "KUAIDI100_SENDER": as_json(SENDER),
            "KUAIDI100_TIMEOUT_SECONDS": "2",
            "TRACKING_POLL_SECONDS": "0",
        },
        "notify": {
            **timings["notify"],
            "SMTP_HOST": "localhost",
            "SMTP_PORT": str(relay.port),
            "SMTP_SECURITY": "starttls",
            "SMTP_CA_FILE": str(certificates.ca_file),
            "SMTP_USERNAME": USER,
            "SMTP_FROM": "Fulfil Shop <orders@fulfil.example>",
            "SMS_ROUTES": as_json({"+86": "aliyun", "*": "twilio"}),
            "SMS_ALIYUN_ENDPOINT": sms.aliyun_url,
            "SMS_ALIYUN_ACCESS_KEY_ID": sms.aliyun.access_key_id,
            "SMS_ALIYUN_SIGN_NAME": sms.aliyun.sign_name,
            "SMS_ALIYUN_TEMPLATES": as_json(templates),
            "SMS_TWILIO_BASE_URL": sms.twilio_url,
            "SMS_TWILIO_ACCOUNT_SID": sms.twilio.account_sid,
            "SMS_TWILIO_FROM": sms.twilio.number,
        },
    }
    hidden = {
        "payment": {
            "stripe_api_key": API_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "webhook_secret": strong("webhook"),
        },
        "logistics": {
            "carrier_webhook_secret": strong("carrier"),
            "kuaidi100_key": KD_KEY,
            "kuaidi100_secret": KD_SECRET,
            "kuaidi100_salt": KD_SALT,
        },
        "notify": {
            "smtp_password": PASSWORD,
            "unsubscribe_secret": strong("unsubscribe"),
            "sms_inbound_secret": strong("inbound"),
            "sms_aliyun_access_key_secret": sms.aliyun.access_key_secret,
            "sms_aliyun_receipt_token": strong("receipts"),
            "sms_twilio_auth_token": sms.twilio.auth_token,
        },
    }
    return plain, hidden


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("relay-tls"))


@pytest.fixture(scope="module")
def relay(certificates: Certificates) -> Iterator[Relay]:
    yield from running_relay(certificates, implicit=False)


@pytest.fixture(scope="module")
async def kd() -> AsyncIterator[Kuaidi100Stub]:
    stub = Kuaidi100Stub(KD_KEY, KD_CUSTOMER, KD_SECRET)
    await stub.start()
    yield stub
    await stub.stop()


@pytest.fixture(scope="module")
async def sms() -> AsyncIterator[SmsProviders]:
    stub = await SmsProviders().start()
    yield stub
    await stub.stop()


@pytest.fixture(scope="module")
async def production(
    infra: Infra,
    stripe_mock: StripeMock,
    kd: Kuaidi100Stub,
    sms: SmsProviders,
    relay: Relay,
    certificates: Certificates,
) -> AsyncIterator[ProductionSystem]:
    system = ProductionSystem.planned()
    plain, hidden = settings(system, stripe_mock, kd, sms, relay, certificates)
    try:
        await system.start(infra, plain, hidden)
        yield system
    finally:
        system.stop()


async def fetch(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def pay_through_stripe(
    client: httpx.AsyncClient, system: ProductionSystem, d: Driver, order_id: str
) -> dict[str, Any]:
    """Stripe's part: the session payment opened, completed and told by a signed event."""
    checkout_url = await d.checkout(order_id)
    assert checkout_url.startswith("https://checkout.stripe.com/"), "Stripe's hosted page"

    async def opened() -> list[dict[str, Any]]:
        return await fetch(
            system.databases["payment"],
            "SELECT attempt_id, provider, session_id FROM attempts"
            " WHERE order_id = $1 AND session_id IS NOT NULL",
            order_id,
        )

    [attempt] = await eventually(opened, what="the Checkout Session")
    total = (await d.order(order_id))["totals"]["total"]
    paid = checkout_session(attempt["session_id"], order_id=order_id,
                            attempt_id=attempt["attempt_id"], amount=total["amount"],
                            currency=total["currency"].lower())  # fmt: skip
    body = event("checkout.session.completed", paid)
    headers = {"Stripe-Signature": signature(WEBHOOK_SECRET, body)}
    for _ in range(2):  # Stripe redelivers until it is sure: applied once
        reply = await client.post(
            f"{system.url('payment')}/v1/webhooks/stripe", content=body, headers=headers
        )
        assert reply.status_code == 200, reply.text
    return paid


async def test_an_order_goes_through_every_real_edge_in_production_once(
    production: ProductionSystem, kd: Kuaidi100Stub, sms: SmsProviders, relay: Relay
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        shop = Shop(Edges.from_stack(production.state()), client)
        d = Driver(shop)
        await shop.put_stock(SKU["sku"], 50)
        body = order_body(random.Random(5), "card", (SKU,), lines=1, quantity=1)
        body["contact"]["phone"] = body["address"]["phone"] = PHONE
        body["address"] |= {"city": "Hangzhou", "region": "Zhejiang", "country": "CN"}
        body["locale"] = "zh-CN"
        order_id = (await shop.place_order(body))["order_id"]

        paid = await pay_through_stripe(client, production, d, order_id)
        parcel = (await d.status(order_id, "shipped"))["shipment"]
        assert parcel["courier"] == "sf"
        number = parcel["tracking_number"]
        await eventually(_subscribed(kd, number), what="the parcel subscribed")
        steps = [("103", "【杭州市】顺丰速运 已收取快件", "浙江,杭州市"),
                 ("5", "快件交给王师傅, 正在派送途中", "浙江,杭州市,西湖区"),
                 ("301", "快件已签收, 签收人: 本人", "浙江,杭州市,西湖区")]  # fmt: skip
        for code, context, area in steps:
            kd.advance(number, code, context, area)
            for _ in range(2):  # a push repeated: recorded once
                reply = await kd.push(number)
                assert reply.json() == {"result": True, "returnCode": "200", "message": "成功"}
        await d.status(order_id, "delivered")
        request = await shop.request_refund(order_id, "not_received")
        if request["status"] == "requested":
            await shop.approve_refund(request.get("refund_request_id") or request["id"])
        await d.status(order_id, "refunded")
        payment = await d.payment(order_id)

    [charge] = [e for e in payment["ledger"] if e["kind"] == "charge"]
    assert (charge["provider"], charge["provider_reference"]) == ("stripe", paid["payment_intent"])
    [refund] = [e for e in payment["ledger"] if e["kind"] == "refund"]
    assert refund["provider"] == "stripe" and refund["provider_reference"].startswith("re_")
    assert refund["amount"] == charge["amount"]
    assert (payment["status"], payment["net"]) == ("refunded", 0)
    assert [o.order_id for o in kd.orders.values()] == [parcel["shipment_id"]], "one booking"
    assert len(kd.calls["order"]) == 1
    assert [json.loads(c["param"])["number"] for c in kd.calls["subscribe"]] == [number]

    messages = await eventually(_all_sent(production, order_id, "refund_paid"),
                                what="the order's messages sent")  # fmt: skip
    emails = {m["id"] for m in messages if m["channel"] == "email"}
    texts = {m["id"] for m in messages if m["channel"] == "sms"}
    sent = {m["template"] for m in messages}
    assert {"order_confirmation", "shipped", "delivered", "refund_paid"} <= sent
    relayed = [_message_id(e.content) for e in relay.messages]
    mine = [m for m in relayed if any(i in m for i in emails)]
    assert len(mine) == len(emails) == len(set(mine)), "each email once, over STARTTLS"
    assert all(relay.over_tls) and relay.logins >= 1
    out_ids = [m.out_id for m in sms.aliyun_sent if m.out_id in texts]
    assert sorted(out_ids) == sorted(texts), "each SMS once, through Aliyun"
    assert sms.twilio_sent == []


def _subscribed(kd: Kuaidi100Stub, number: str) -> Any:
    async def probe() -> bool:
        parcel = kd.parcels.get(number)
        return parcel is not None and parcel.subscription is not None

    return probe


def _all_sent(system: ProductionSystem, order_id: str, last: str) -> Any:
    async def probe() -> list[dict[str, Any]] | None:
        found = await fetch(
            system.databases["notify"],
            "SELECT id, channel, template, status FROM messages WHERE order_id = $1",
            order_id,
        )
        done = [m for m in found if m["template"] == last and m["status"] == "sent"]
        pending = [m for m in found if m["status"] == "pending"]
        return found if len(done) == 2 and not pending else None

    return probe


def _message_id(content: bytes | str | None) -> str:
    raw = content.encode() if isinstance(content, str) else content or b""
    return str(message_from_bytes(raw).get("Message-ID", ""))
