"""The timeline in the customer's language over HTTP: `?lang=` first, then Accept-Language,
then the language chosen at checkout; the same machine entries in every language."""

from __future__ import annotations

import uuid
from typing import Any

from shared.contracts.envelope import Money
from shared.contracts.events import logistics as lg
from shared.contracts.events import payment as pm
from shared.runtime import Runtime
from tests.integration.order.support import ADDRESS, kinds, place, until
from tests.support.events import now, send_all
from tests.support.http import client, customer

SENTENCES = {
    "zh-CN": ("买家已付款 ¥128.00。", "卖家已通过顺丰速运发货", "您的包裹已到达杭州。"),
    "zh-TW": ("買家已付款 CN¥128.00。", "賣家已透過順豐速運出貨", "您的包裹已抵達杭州。"),
    "en": (
        "Buyer has paid CN¥128.00.",
        "Seller has shipped your order with SF Express",
        "Your parcel has arrived in 杭州.",
    ),
}


async def followed_order(service: Runtime) -> str:
    """A zh-CN order paid, shipped with SF and arrived in its city."""
    order_id = (await place(service, locale="zh-CN"))["order_id"]
    shipment = f"shp_{uuid.uuid4().hex[:8]}"
    tracking = f"SF{uuid.uuid4().hex[:10].upper()}"
    parcel = {"shipment_id": shipment, "courier": "sf", "tracking_number": tracking}
    await send_all(
        service,
        order_id,
        pm.PaymentSucceeded(
            attempt_id=f"att_{uuid.uuid4().hex[:8]}",
            method="wallet",
            amount=Money(amount=12_800, currency="CNY"),
            provider="sandbox",
            provider_reference="ref",
            paid_at=now(),
        ),
        lg.ShipmentShipped(**parcel, lines=(), address=ADDRESS, shipped_at=now()),
        lg.CheckpointReached(
            **parcel, checkpoint_at=now(), city="杭州", status="arrived_in_city",
            description="快件已到达杭州转运中心",
        ),
    )  # fmt: skip
    await until(service, order_id, lambda o: "checkpoint" in kinds(o))
    return order_id


async def read(service: Runtime, order_id: str, **request: Any) -> dict[str, Any]:
    async with client(service) as http:
        response = await http.get(f"/v1/orders/{order_id}", **request)
    assert response.status_code == 200, response.text
    return dict(response.json())


def texts(order: dict[str, Any]) -> dict[str, str]:
    return {e["kind"]: e["text"] for e in order["timeline"]}


async def test_the_timeline_reads_in_each_language_with_the_same_machine_entries(
    service: Runtime,
) -> None:
    order_id = await followed_order(service)
    auth = customer(order_id)  # the customer's page calls with the order's token
    by_lang = {
        lang: await read(service, order_id, headers=auth, params={"lang": lang})
        for lang in SENTENCES
    }
    for lang, (paid, shipped, arrived) in SENTENCES.items():
        order = by_lang[lang]
        assert order["language"] == lang and order["locale"] == "zh-CN"
        said = texts(order)
        assert said["paid"] == paid and said["shipped"].startswith(shipped)
        assert said["checkpoint"] == arrived
        assert order["shipment"]["checkpoints"][-1]["text"] == arrived
    machine = [[(e["kind"], e["at"]) for e in o["timeline"]] for o in by_lang.values()]
    assert machine[0] == machine[1] == machine[2], "only the text changes with the language"
    assert by_lang["en"]["timeline"][1]["details"]["amount"] == 12_800


async def test_accept_language_then_the_orders_own_language_decide_without_lang(
    service: Runtime,
) -> None:
    order_id = await followed_order(service)
    auth = customer(order_id)
    hant = await read(service, order_id, headers={**auth, "Accept-Language": "zh-Hant-HK"})
    assert hant["language"] == "zh-TW" and texts(hant)["paid"] == SENTENCES["zh-TW"][0]
    weighted = {**auth, "Accept-Language": "fr;q=1, en;q=0.8, zh;q=0.5"}
    assert (await read(service, order_id, headers=weighted))["language"] == "en"
    unknown = await read(service, order_id, headers={**auth, "Accept-Language": "fr-FR, de"})
    assert unknown["language"] == "zh-CN", "a language we do not speak: the order's own"
    assert texts(unknown)["paid"] == SENTENCES["zh-CN"][0]
    both = {**auth, "Accept-Language": "zh-TW"}
    assert (await read(service, order_id, headers=both, params={"lang": "en"}))["language"] == "en"


async def test_a_language_we_do_not_speak_is_refused_naming_lang(service: Runtime) -> None:
    order_id = (await place(service))["order_id"]
    async with client(service) as http:
        response = await http.get(
            f"/v1/orders/{order_id}", headers=customer(order_id), params={"lang": "fr"}
        )
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "lang" in {f.get("field") for f in problem.get("fields", [])} | {problem.get("field")}
