"""Orders in the states the page shows, answered as the APIs answer them: for the
screenshots (`python -m web.screenshots`) and for tests of the page alone.

`SampleServices` is the client with its calls answered from these orders; the token that
opens each is `TOKEN`, any other is refused (403) as the services refuse it.
"""

from __future__ import annotations

import copy
from typing import Any

from web.client import ApiProblem, Credential, Services
from web.settings import WebSettings

TOKEN = "sample-token"  # noqa: S105 - opens the sample orders only
_ADDRESS = {
    "recipient": "王小明",
    "phone": "+8613800138000",
    "line1": "浦东新区世纪大道100号8楼",
    "city": "上海市",
    "region": "上海",
    "postal_code": "200120",
    "country": "CN",
}


def _money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY"}


def _order(
    order_id: str, status: str, timeline: list[tuple[str, str, str]], **more: Any
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "order_id": order_id,
        "status": status,
        "customer_id": None,
        "placed_at": "2026-11-28T09:12:00+08:00",
        "locale": "zh-CN",
        "time_zone": "Asia/Shanghai",
        "items": [
            {
                "line_id": "l1",
                "sku": "TEA-01",
                "name": "西湖龙井 250g",
                "variant": "礼盒装",
                "quantity": 1,
                "unit_price": 12800,
                "line_total": 12800,
            },
            {
                "line_id": "l2",
                "sku": "CUP-02",
                "name": "青瓷茶杯",
                "variant": None,
                "quantity": 2,
                "unit_price": 3600,
                "line_total": 7200,
            },
        ],
        "totals": {
            "total": _money(20000),
            "paid": _money(20000),
            "refunded": _money(0),
            "due": _money(0),
        },
        "payment": {
            "method": "alipay",
            "status": "paid",
            "amount_due": _money(0),
            "due_at": None,
            "instructions": "",
        },
        "promised_ship_date": "2026-11-30",
        "contact": {"email": "x***@example.com"},
        "delivery_address": _ADDRESS,
        "gift_message": None,
        "shipment": None,
        "refunds": [],
        "timeline": [
            {"at": at, "kind": kind, "description": text, "details": {}}
            for at, kind, text in timeline
        ],
    }
    base.update(more)
    return base


_PLACED = ("2026-11-28T09:12:00+08:00", "placed", "订单已提交。")
_PAID = ("2026-11-28T09:14:00+08:00", "paid", "买家已付款 ¥200.00。")
_SHIPPED = ("2026-11-29T16:40:00+08:00", "shipped", "卖家已发货：顺丰速运，运单号 SF1234567890。")
_SHIPMENT = {
    "shipment_id": "shp_sample",
    "courier": "sf",
    "courier_name": "顺丰速运",
    "tracking_number": "SF1234567890",
    "tracking_url": "https://www.sf-express.com/chn/sc/waybill/waybill-detail/SF1234567890",
    "shipped_at": "2026-11-29T16:40:00+08:00",
    "checkpoints": [
        {
            "at": "2026-11-30T07:55:00+08:00",
            "kind": "checkpoint",
            "city": "上海市",
            "description": "上海市：快件已到达目的地城市",
        },
        {
            "at": "2026-11-30T09:10:00+08:00",
            "kind": "out_for_delivery",
            "city": "上海市",
            "description": "上海市：派送中",
        },
    ],
}

ORDERS: dict[str, dict[str, Any]] = {
    "ord_sample_unpaid": _order(
        "ord_sample_unpaid",
        "placed",
        [_PLACED, ("2026-11-28T09:12:05+08:00", "payment_requested", "等待您付款。")],
        totals={
            "total": _money(20000),
            "paid": _money(0),
            "refunded": _money(0),
            "due": _money(20000),
        },
        payment={
            "method": "alipay",
            "status": "pending",
            "amount_due": _money(20000),
            "due_at": "2026-11-28T10:12:00+08:00",
            "instructions": "",
            "checkout_url": "https://openapi.alipay.com/gateway.do?sample=1",
        },
    ),
    "ord_sample_shipped": _order(
        "ord_sample_shipped",
        "shipped",
        [
            _PLACED,
            _PAID,
            _SHIPPED,
            ("2026-11-30T07:55:00+08:00", "checkpoint", "上海市：快件已到达目的地城市"),
            (
                "2026-11-30T08:30:00+08:00",
                "delayed",
                "很抱歉，您的订单延迟了，预计 2026-12-02 送达。",
            ),
            ("2026-11-30T09:10:00+08:00", "out_for_delivery", "上海市：派送中"),
        ],
        shipment=_SHIPMENT,
    ),
    "ord_sample_delivered": _order(
        "ord_sample_delivered",
        "delivered",
        [_PLACED, _PAID, _SHIPPED, ("2026-12-01T11:02:00+08:00", "delivered", "已在上海市签收。")],
        shipment=_SHIPMENT,
        refunds=[
            {
                "refund_id": "rr_1",
                "status": "requested",
                "amount": _money(7200),
                "reason": "damaged",
                "flow": "return",
            }
        ],
    ),
}
# An order whose goods sit in two warehouses: the tea left Shanghai and is out for
# delivery, the cups still wait in Hangzhou.
_PARCELS = [
    _SHIPMENT
    | {
        "number": 1,
        "of": 2,
        "status": "shipped",
        "warehouse": "SH-1",
        "lines": [
            {"line_id": "l1", "sku": "TEA-01", "name": "西湖龙井 250g", "variant": "礼盒装"}
            | {"quantity": 1}
        ],
    },
    {
        "shipment_id": "shp_sample_2",
        "number": 2,
        "of": 2,
        "status": "waiting",
        "warehouse": "HZ-1",
        "lines": [{"line_id": "l2", "sku": "CUP-02", "name": "青瓷茶杯", "quantity": 2}],
        "checkpoints": [],
    },
]
ORDERS["ord_sample_parcels"] = _order(
    "ord_sample_parcels",
    "shipped",
    [
        _PLACED,
        _PAID,
        (
            "2026-11-29T16:40:00+08:00",
            "shipped",
            "卖家已通过顺丰速运发出第 1 个包裹（共 2 个），运单号 SF1234567890。",
        ),
    ],
    shipment=_PARCELS[0],
    parcels=_PARCELS,
)
# An order placed while one cup was out of stock: the tea and one cup are held, the
# customer chooses by the deadline to ship them now or wait for the second cup.
ORDERS["ord_sample_backorder"] = _order(
    "ord_sample_backorder",
    "paid",
    [
        _PLACED,
        (
            "2026-11-28T09:12:02+08:00",
            "backordered",
            "部分商品缺货：青瓷茶杯 \u00d7 1。有货的商品已为您保留。请在 2026-11-30 09:12 "
            "(Asia/Shanghai) 前选择现在发出有货的商品，或等待缺货商品到货；逾期未选择，"
            "我们将先发出有货的商品。预计 2026-12-05 补货。",
        ),
        _PAID,
    ],
    promised_ship_date=None,
    backorder={
        "state": "open",
        "lines": [
            {
                "line_id": "l2",
                "sku": "CUP-02",
                "name": "青瓷茶杯",
                "variant": None,
                "quantity": 1,
                "held": 1,
                "restock_expected": "2026-12-05",
            }
        ],
        "choose_by": "2026-11-30T01:12:00+00:00",
        "default_choice": "ship_available",
        "restock_expected": "2026-12-05",
        "choice": None,
        "chosen_by": None,
    },
)
ORDERS["ord_sample_shipped"]["timeline"][4]["details"] = {"new_expected_date": "2026-12-02"}
REFUND_REQUESTS = {
    "ord_sample_delivered": [
        {"id": "rr_1", "status": "requested", "reason": "damaged", "amount": _money(7200)}
    ],
}


class SampleServices(Services):
    def __init__(self, settings: WebSettings | None = None) -> None:
        super().__init__(settings or WebSettings())
        self.orders = copy.deepcopy(ORDERS)
        self.requests = copy.deepcopy(REFUND_REQUESTS)
        self.calls: list[tuple[str, str]] = []

    async def call(
        self,
        service: Any,
        method: str,
        path: str,
        credential: Credential | None,
        *,
        json: Any = None,
        **_: Any,
    ) -> Any:
        self.calls.append((method, path))
        parts = path.strip("/").split("/")  # v1 orders <id> [what]
        order = self.orders.get(parts[2]) if len(parts) > 2 else None
        if order is None:
            raise ApiProblem(404, {"code": "order_not_found", "detail": "no such order"})
        if credential is None or credential.token != TOKEN:
            raise ApiProblem(
                403, {"code": "forbidden", "detail": "this token does not open this order"}
            )
        what = parts[3] if len(parts) > 3 else ""
        if what == "refund-requests":
            return {"refund_requests": self.requests.get(order["order_id"], [])}
        if what == "cancel":
            order["status"] = "cancelled"
        if what == "confirm-receipt":
            order["status"] = "completed"
        if what == "backorder-choice":
            return self._choose(order, (json or {}).get("choice"))
        return order

    def _choose(self, order: dict[str, Any], choice: Any) -> dict[str, Any]:
        """As the order service answers a backorder choice: the first answer is kept."""
        held = order.get("backorder")
        if choice not in ("ship_available", "wait"):
            raise ApiProblem(422, {"code": "invalid_request", "detail": "invalid: choice"})
        if not held:
            raise ApiProblem(409, {"code": "no_backorder", "detail": "no backorder"})
        if held["choice"] not in (None, choice):
            raise ApiProblem(409, {"code": "backorder_answered", "detail": "already answered"})
        held |= {"choice": choice, "chosen_by": "customer"}
        return order

    async def ready(self) -> dict[str, Any]:
        return {"samples": {"ok": True}}
