"""The demo's exchanging customers: once the shirt is delivered each asks for one
exchange, sends the shirt back once however often the acceptance is read, pays a
difference once on the provider's checkout page, and operations receive the shirt once."""

from __future__ import annotations

from typing import Any, cast

from deploy.demo import exchanges
from deploy.demo.driver import Customer, Driver
from deploy.demo.exchanges import VARIANTS
from deploy.demo.shop import Edges, Shop
from tests.unit.deploy.test_demo_driver import event, settled

EDGES = Edges("http://order", "http://payment", "http://logistics", "http://returns",
              "http://notify", "shop-key", "ops-key")  # fmt: skip


class ExchangeShop:
    """The returns edge and the checkout page, as the demo calls them."""

    def __init__(self) -> None:
        self.edges = EDGES
        self.shop_headers = {"Authorization": "Bearer shop-key"}
        self.ops_headers = {"Authorization": "Bearer ops-key"}
        self.calls: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = []
        self.paid: list[str] = []

    async def call(
        self, what: str, method: str, url: str, headers: dict[str, str], body: Any = None
    ) -> dict[str, Any]:
        self.calls.append((method, url, body, headers))
        return {"exchange_id": "exc_1", "status": "requested"}

    async def complete_checkout(self, checkout_url: str) -> dict[str, Any]:
        self.paid.append(checkout_url)
        return {}


def _driver(shop: ExchangeShop) -> Driver:
    d = Driver(cast(Shop, shop), rate=1, mix={"exchange_after_delivery": 1}, seed=3)
    d.exchanger.pace = 0.0
    return d


async def test_a_customer_exchanges_the_delivered_shirt_once_and_sends_it_back_once() -> None:
    shop = ExchangeShop()
    d = _driver(shop)
    d.customers["ord_1"] = Customer("ord_1", "exchange_after_delivery", {})
    delivered = event("ord_1", "ShipmentDelivered", {"shipment_id": "shp_1"})
    d.on_records([delivered, delivered])
    await settled(d)

    (asked,) = [c for c in shop.calls if c[1].endswith("/exchanges")]
    method, url, body, headers = asked
    assert (method, url) == ("POST", "http://returns/v1/orders/ord_1/exchanges")
    assert body is not None and body["line_id"] == "l1" and body["quantity"] == 1
    assert body["replacement_sku"] in {v["sku"] for v in VARIANTS}
    assert "Idempotency-Key" in headers

    accepted = event("ord_1", "ExchangeAccepted", {"exchange_id": "exc_1"})
    d.on_records([accepted, accepted])
    await settled(d)
    steps = [(m, u) for m, u, _, _ in shop.calls[1:]]
    assert steps == [
        ("POST", "http://returns/v1/exchanges/exc_1/return-shipment"),
        ("POST", "http://returns/v1/exchanges/exc_1/return-received"),
    ]
    assert shop.calls[2][3] == shop.ops_headers, "operations record the return received"
    assert not d.errors


async def test_a_dearer_variant_is_paid_once_on_the_checkout_page() -> None:
    shop = ExchangeShop()
    d = _driver(shop)
    d.customers["ord_2"] = Customer("ord_2", "exchange_after_delivery", {})
    requested = event(
        "ord_2",
        "ExchangePaymentRequested",
        {"exchange_id": "exc_2", "checkout_url": "http://payment/sandbox/checkout/pss_2"},
    )
    d.on_records([requested, requested])
    await settled(d)
    assert shop.paid == ["http://payment/sandbox/checkout/pss_2"]
    assert d.actions["pay exchange difference"] == 1


async def test_the_demo_gives_every_variant_its_stock_and_price() -> None:
    shop = ExchangeShop()
    stocked: list[str] = []

    async def put_stock(sku: str, on_hand: int, threshold: int = 0, **extra: Any) -> None:
        assert extra["name"] == "Cotton T-shirt"
        stocked.append(sku)

    shop.put_stock = put_stock  # type: ignore[attr-defined]
    await exchanges.prepare(cast(Shop, shop))
    priced = {u.rsplit("/", 1)[1]: (b or {})["amount"] for m, u, b, _ in shop.calls if m == "PUT"}
    assert stocked == [v["sku"] for v in VARIANTS]
    assert priced == {v["sku"]: v["price"] for v in VARIANTS}
