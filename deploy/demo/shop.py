"""The outside world's calls through the system's real edges, over HTTP.

A shop frontend (order API with the shop key), the sandbox payment provider's
checkout page, the sandbox carrier, a customer's refund and return requests,
and operations (stock, the warehouse and what it puts back, delays announced,
refund approvals, returns received) with the ops key.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

import aiohttp

CITIES = (
    ("Shanghai", "Shanghai", "CN", "zh-CN", "+86 138 0013 8000"),
    ("Hangzhou", "Zhejiang", "CN", "zh-CN", "+86 139 1234 5678"),
    ("Shenzhen", "Guangdong", "CN", "zh-CN", "+86 137 5555 0101"),
    ("Taipei", "Taipei", "TW", "zh-TW", "+886 912 345 678"),
    ("Hong Kong", None, "HK", "zh-TW", "+852 5123 4567"),
    ("Singapore", None, "SG", "en", "+65 8123 4567"),
    ("London", None, "GB", "en", "+44 7700 900123"),
)

STREETS = ("Nanjing Rd", "Zhongshan Rd", "Main St")

DEFAULT_CATALOGUE: tuple[dict[str, Any], ...] = (
    {"sku": "TEE-WHT-M", "name": "Cotton T-shirt", "variant": "White / M", "price": 7900},
    {"sku": "TEE-BLK-M", "name": "Cotton T-shirt", "variant": "Black / M", "price": 7900},
    {"sku": "HOOD-GRY-L", "name": "Fleece hoodie", "variant": "Grey / L", "price": 25900},
    {"sku": "SNK-RUN-42", "name": "Running sneakers", "variant": "EU 42", "price": 49900},
    {
        "sku": "TEA-OOLONG-250",
        "name": "Tieguanyin oolong tea",
        "variant": "250 g tin",
        "price": 12800,
    },
    {"sku": "MUG-CER-350", "name": "Ceramic mug", "variant": "350 ml", "price": 4500},
)


@dataclass
class Edges:
    """Base URLs and keys, from the stack's stack.json."""

    order: str
    payment: str
    logistics: str
    returns: str
    notify: str
    shop_key: str
    ops_key: str

    @classmethod
    def from_stack(cls, state: dict[str, Any]) -> Edges:
        urls = {name: svc["url"] for name, svc in state["services"].items()}
        creds = state["credentials"]
        return cls(
            order=urls["order"],
            payment=urls["payment"],
            logistics=urls["logistics"],
            returns=urls["returns"],
            notify=urls["notify"],
            shop_key=creds["shop_api_key"],
            ops_key=creds["ops_api_key"],
        )


class Reply(Protocol):
    """What the shop reads of an HTTP answer (an `httpx.Response` is one)."""

    @property
    def status_code(self) -> int: ...

    @property
    def content(self) -> bytes: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class Client(Protocol):
    """The HTTP client the shop calls through (`httpx.AsyncClient`, or `KeepAliveClient`)."""

    async def request(
        self, method: str, url: str, *, headers: dict[str, str], json: Any = None
    ) -> Reply: ...


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class KeepAliveClient:
    """HTTP/1.1 with the connections kept open between calls, as a shop's backend keeps them.

    For load: aiohttp's pool hands out an idle connection per host in constant time, where
    httpx's pool checks every pooled connection (a system call each) on every request, which
    cost the load driver most of its CPU. A failure to reach the edge raises a
    `ConnectionError` (an `OSError`), like a refused connection.
    """

    def __init__(self, connections: int = 300, timeout: float = 30.0) -> None:
        self.connections = connections
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> KeepAliveClient:
        connector = aiohttp.TCPConnector(limit=self.connections, keepalive_timeout=30.0)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            auto_decompress=False,
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self, method: str, url: str, *, headers: dict[str, str], json: Any = None
    ) -> Answer:
        assert self._session is not None, "use the client in `async with`"
        data = None
        if json is not None:
            data = _dumps(json)
            headers = {**headers, "Content-Type": "application/json"}
        try:
            async with self._session.request(method, url, headers=headers, data=data) as response:
                return Answer(response.status, await response.read())
        except aiohttp.ClientError as exc:
            raise ConnectionError(f"{method} {url}: {exc!r}") from exc


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


class ShopError(Exception):
    """A refusal: `status`, and `code` the problem's machine-readable `error` (a 409's
    `not_in_warehouse` says a shipment was stopped), None when the answer has none."""

    def __init__(self, what: str, response: Reply) -> None:
        super().__init__(f"{what}: HTTP {response.status_code} {response.text[:300]}")
        self.status = response.status_code
        self.code: str | None = None
        try:
            problem = response.json()
        except ValueError:
            return
        if isinstance(problem, dict) and isinstance(problem.get("error"), str):
            self.code = problem["error"]


def order_body(
    rng: random.Random,
    method: str,
    catalogue: tuple[dict[str, Any], ...] = DEFAULT_CATALOGUE,
    lines: int | None = None,
    quantity: int | None = None,
) -> dict[str, Any]:
    city, region, country, locale, phone = rng.choice(CITIES)
    picked = rng.sample(catalogue, k=min(len(catalogue), lines or rng.choice((1, 1, 1, 2, 3))))
    customer = None if rng.random() < 0.4 else f"cus_{rng.randrange(1, 5000):05d}"
    body: dict[str, Any] = {
        "items": [
            {
                "sku": item["sku"],
                "name": item["name"],
                "variant": item.get("variant"),
                "quantity": quantity or rng.choice((1, 1, 1, 2)),
                "unit_price": item["price"],
            }
            for item in picked
        ],
        "currency": "CNY",
        "customer_id": customer,
        "contact": {"phone": phone, "email": f"shopper{rng.randrange(1, 10**6)}@example.com"},
        "address": {
            "recipient": rng.choice(("Li Wei", "Chen Jing", "Wang Fang", "Lin Mei", "Alex Tan")),
            "phone": phone,
            "line1": f"{rng.randrange(1, 999)} {rng.choice(STREETS)}",
            "city": city,
            "region": region,
            "postal_code": f"{rng.randrange(100000, 999999)}",
            "country": country,
        },
        "locale": locale,
        "payment_method": method,
    }
    if rng.random() < 0.1:
        body["gift_message"] = "Happy birthday!"
    return body


class Shop:
    def __init__(self, edges: Edges, client: Client) -> None:
        self.edges = edges
        self.client = client
        self._shop = {"Authorization": f"Bearer {edges.shop_key}"}
        self._ops = {"Authorization": f"Bearer {edges.ops_key}"}

    async def _call(
        self, what: str, method: str, url: str, headers: dict[str, str], body: Any = None
    ) -> dict[str, Any]:
        response = await self.client.request(method, url, headers=headers, json=body)
        if response.status_code >= 400:
            raise ShopError(what, response)
        return response.json() if response.content else {}

    call = _call  # for the modules that add calls of their own (deploy/demo/exchanges.py)

    @property
    def shop_headers(self) -> dict[str, str]:
        return dict(self._shop)

    @property
    def ops_headers(self) -> dict[str, str]:
        return dict(self._ops)

    # shop frontend (order service)

    async def place_order(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {**self._shop, "Idempotency-Key": uuid.uuid4().hex}
        return await self._call(
            "place order", "POST", f"{self.edges.order}/v1/orders", headers, body
        )

    async def cancel(self, order_id: str) -> dict[str, Any]:
        url = f"{self.edges.order}/v1/orders/{order_id}/cancel"
        return await self._call("cancel", "POST", url, self._shop)

    async def confirm_receipt(self, order_id: str) -> dict[str, Any]:
        url = f"{self.edges.order}/v1/orders/{order_id}/confirm-receipt"
        return await self._call("confirm receipt", "POST", url, self._shop)

    async def backorder_choice(self, order_id: str, choice: str) -> dict[str, Any]:
        """The customer's answer to a backorder: `ship_available` or `wait`."""
        url = f"{self.edges.order}/v1/orders/{order_id}/backorder-choice"
        return await self._call("backorder choice", "POST", url, self._shop, {"choice": choice})

    # payment provider's sandbox checkout page and the payment retry

    async def complete_checkout(
        self,
        checkout_url: str,
        outcome: str = "succeed",
        reason: str | None = None,
        delay_seconds: float = 0.0,
        repeat: int = 1,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "outcome": outcome,
            "repeat": repeat,
            "delay_seconds": delay_seconds,
        }
        if reason:
            body["reason"] = reason
        return await self._call(
            "checkout", "POST", f"{checkout_url.rstrip('/')}/complete", {}, body
        )

    async def retry_payment(self, order_id: str, method: str) -> dict[str, Any]:
        url = f"{self.edges.payment}/v1/orders/{order_id}/payment/retry"
        return await self._call("retry payment", "POST", url, self._shop, {"method": method})

    # sandbox carrier

    async def advance_parcel(self, carrier: str, tracking: str) -> dict[str, Any]:
        url = f"{self.edges.logistics}/sandbox/carriers/{carrier}/parcels/{tracking}/advance"
        return await self._call("advance parcel", "POST", url, {})

    async def refuse_parcel(self, carrier: str, tracking: str) -> dict[str, Any]:
        """The customer refuses the parcel at the door: the courier reports it."""
        url = f"{self.edges.logistics}/sandbox/carriers/{carrier}/parcels/{tracking}/refuse"
        return await self._call("refuse parcel", "POST", url, {})

    # the warehouse: pick, pack and hand over to the courier (logistics ops API)

    async def warehouse_step(
        self, shipment_id: str, step: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """`step`: picked, packed (body: weight_grams, parcels) or handed-over."""
        url = f"{self.edges.logistics}/v1/ops/shipments/{shipment_id}/{step}"
        return await self._call(f"warehouse {step}", "POST", url, self._ops, body)

    async def pick_list(self, limit: int = 100) -> dict[str, Any]:
        """The shipments waiting in the warehouse (`pick_list`) and `to_put_back`, the count
        of stopped ones whose picked goods wait to go back on the shelf."""
        url = f"{self.edges.logistics}/v1/ops/pick-list?limit={limit}"
        return await self._call("pick list", "GET", url, self._ops)

    async def put_back_list(self, limit: int = 100) -> list[dict[str, Any]]:
        """Stopped shipments whose goods were picked (or packed) and are still off the shelf."""
        url = f"{self.edges.logistics}/v1/ops/put-back?limit={limit}"
        return list((await self._call("put-back list", "GET", url, self._ops))["put_back"])

    async def put_back(self, shipment_id: str) -> dict[str, Any]:
        """The goods of a shipment stopped after picking are back on the shelf."""
        url = f"{self.edges.logistics}/v1/ops/shipments/{shipment_id}/put-back"
        return await self._call("warehouse put-back", "POST", url, self._ops)

    # operations: delays announced to the customers they cover (logistics ops API)

    async def announce_delay(self, delay_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """`body`: cause, expected_from, expected_to (ISO dates), days, and optionally
        parcels, region, courier. The same announcement again answers the same."""
        url = f"{self.edges.logistics}/v1/ops/delays/{delay_id}"
        return await self._call("announce delay", "PUT", url, self._ops, body)

    async def delay(self, delay_id: str) -> dict[str, Any]:
        """An announcement with `covered` (parcels open when made) and `told` (so far)."""
        url = f"{self.edges.logistics}/v1/ops/delays/{delay_id}"
        return await self._call("delay", "GET", url, self._ops)

    # customer's after-sales requests and operations (returns service)

    async def request_refund(
        self, order_id: str, reason: str, lines: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        headers = {**self._shop, "Idempotency-Key": uuid.uuid4().hex}
        body: dict[str, Any] = {"reason": reason}
        if lines:
            body["lines"] = lines
        url = f"{self.edges.returns}/v1/orders/{order_id}/refund-requests"
        return await self._call("refund request", "POST", url, headers, body)

    async def ship_return(self, request_id: str, courier: str, tracking: str) -> dict[str, Any]:
        url = f"{self.edges.returns}/v1/refund-requests/{request_id}/return-shipment"
        body = {"courier": courier, "tracking_number": tracking}
        return await self._call("return shipment", "POST", url, self._shop, body)

    async def return_received(self, request_id: str) -> dict[str, Any]:
        url = f"{self.edges.returns}/v1/refund-requests/{request_id}/return-received"
        return await self._call("return received", "POST", url, self._ops, {})

    async def approve_refund(self, request_id: str) -> dict[str, Any]:
        url = f"{self.edges.returns}/v1/refund-requests/{request_id}/approve"
        return await self._call("approve refund", "POST", url, self._ops, {})

    # operations: stock (logistics service)

    async def put_stock(
        self, sku: str, on_hand: int, threshold: int = 0, **extra: Any
    ) -> dict[str, Any]:
        body = {"on_hand": on_hand, "low_stock_threshold": threshold, **extra}
        url = f"{self.edges.logistics}/v1/stock/{sku}"
        return await self._call("put stock", "PUT", url, self._ops, body)

    async def stock(self, sku: str) -> dict[str, Any]:
        """The SKU's stock, in total and per warehouse."""
        url = f"{self.edges.logistics}/v1/stock/{sku}"
        return await self._call("stock", "GET", url, self._ops)

    async def receive_stock(
        self, sku: str, quantity: int, warehouse: str | None = None
    ) -> dict[str, Any]:
        """Goods received: waiting backorders are served first, oldest first."""
        body: dict[str, Any] = {"quantity": quantity}
        if warehouse:
            body["warehouse"] = warehouse
        url = f"{self.edges.logistics}/v1/stock/{sku}/receipts"
        return await self._call("receive stock", "POST", url, self._ops, body)

    async def expect_restock(self, sku: str, expected_on: str | None) -> dict[str, Any]:
        """The date operations expect the SKU back (ISO date; None clears it)."""
        url = f"{self.edges.logistics}/v1/stock/{sku}/restock-date"
        body = {"expected_on": expected_on}
        return await self._call("restock date", "PUT", url, self._ops, body)

    async def backorders(self, sku: str) -> dict[str, Any]:
        """The backorders waiting for the SKU, in the order a restock serves them."""
        url = f"{self.edges.logistics}/v1/stock/{sku}/backorders"
        return await self._call("backorders", "GET", url, self._ops)
