"""The console's panels answered from sample figures, as the ops APIs answer them: for the
screenshots (`python -m web.screenshots`) and tests of the pages alone."""

from __future__ import annotations

from typing import Any

from fulfil.funnel import Scrape, parse
from web.client import ApiProblem, Credential, Services

_METRICS = {
    "order": 'fulfil_orders_placed_total 1284\nfulfil_orders_by_status{status="completed"} 903\n'
    'fulfil_orders_by_status{status="cancelled"} 61\n',
    "payment": "fulfil_payments_requested_total 1262\n"
    'fulfil_payments_total{outcome="succeeded"} 1170\n'
    'fulfil_payment_failures_total{reason="card_declined"} 41\nfulfil_refunds_paid_total 22\n',
    "logistics": "fulfil_shipments_shipped_total 1101\n"
    'fulfil_ship_to_deliver_duration_seconds_bucket{le="86400.0"} 640\n'
    'fulfil_ship_to_deliver_duration_seconds_bucket{le="172800.0"} 1012\n'
    'fulfil_ship_to_deliver_duration_seconds_bucket{le="+Inf"} 1012\n'
    "fulfil_ship_to_deliver_duration_seconds_count 1012\n",
    "returns": 'fulfil_refund_requests_total{reason="damaged",flow="no_return"} 31\n',
    "notify": "",
}


def _status(service: str, lag: int, letters: int) -> dict[str, Any]:
    by_reason = [{"reason": "handler_failed", "pending": letters}] if letters else []
    return {
        "service": service,
        "lag": {"measured_at": "2026-12-02T08:00:00+00:00", "total": lag, "partitions": []},
        "dead_letters": {"pending": letters, "by_reason": by_reason},
    }


ANSWERS: dict[str, Any] = {
    "/ops/stuck": {
        "stuck": [
            {
                "order_id": "ord_sample_stuck",
                "stage": "not_shipped",
                "waited_seconds": 30_600,
                "detail": "paid; the promise to ship by 2026-12-01 has passed",
            }
        ]
    },
    "/v1/ops/refund-requests": {
        "refund_requests": [
            {
                "id": "rr_sample_1",
                "order_id": "ord_sample_delivered",
                "reason": "damaged",
                "amount": {"amount": 7200, "currency": "CNY"},
                "waited_seconds": 9_300,
            }
        ],
        "next_cursor": None,
    },
    "/v1/ops/low-stock": {
        "low_stock": [
            {
                "sku": "TEA-01",
                "warehouse": "SH-1",
                "name": "西湖龙井 250g",
                "available": 3,
                "low_stock_threshold": 10,
            }
        ]
    },
    "/ops/dead-letters": {
        "dead_letters": [
            {
                "id": 17,
                "event_type": "OrderPlaced",
                "reason": "handler_failed",
                "attempts": 5,
                "position": "orders.v1:3:48211",
                "error": "ValueError('unknown warehouse SH-9')",
            }
        ]
    },
    "/ops/orders": {
        "matched_by": "phone",
        "orders": [
            {
                "order_id": "ord_sample_shipped",
                "stage": "shipped",
                "placed_at": "2026-11-28T01:12:00+00:00",
                "total": {"amount": 12800, "currency": "CNY"},
                "contact": {"phone": "***00", "email": "w***@example.com"},
            }
        ],
        "next_cursor": None,
    },
}


class ConsoleSamples(Services):
    """Answers the console's calls from the samples; `sample_scrape` stands for /metrics."""

    async def call(
        self, service: Any, method: str, path: str, credential: Credential | None, **_: Any
    ) -> Any:
        if path == "/ops/status":
            return _status(
                service, {"payment": 12}.get(service, 0), 2 if service == "payment" else 0
            )
        if path in ANSWERS:
            return ANSWERS[path]
        if method == "POST":
            return {"outcome": "handled"}
        raise ApiProblem(404, {"code": "not_found", "detail": f"no sample for {path}"})

    def sample_scrape(self) -> Scrape:
        return Scrape(samples={s: parse(text) for s, text in _METRICS.items()})
