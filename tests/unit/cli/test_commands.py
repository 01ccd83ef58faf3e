"""What the command refuses before it reaches the broker or a service, and how it reads an
order's events and records."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from fulfil.broker import Record
from fulfil.cli import cli
from fulfil.flow import decoded
from fulfil.order import gaps
from shared.contracts.envelope import Envelope
from tests.support.events import new_order_id, placed


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_a_replay_needs_ids_or_a_selection_but_not_both() -> None:
    code, output = run("dlq", "replay", "--service", "payment")
    assert code != 0 and "select with --reason" in output
    code, output = run("dlq", "replay", "--service", "payment", "3", "--all")
    assert code != 0 and "not both" in output


def test_an_unknown_service_or_topic_is_refused_by_name() -> None:
    code, output = run("dlq", "list", "--service", "warehouse")
    assert code != 0 and "warehouse" in output
    code, output = run("tail", "orders.v0")
    assert code != 0 and "unknown topic 'orders.v0'" in output
    code, output = run("lag", "--service", "warehouse")
    assert code != 0 and "unknown service 'warehouse'" in output


def test_a_step_without_its_expected_successor_is_a_gap() -> None:
    assert gaps(["OrderPlaced", "PaymentRequested", "PaymentSucceeded", "OrderPaid"]) == [
        {
            "after": "OrderPaid",
            "index": 3,
            "expected": ["OrderCancelled", "ShipmentCancelled", "ShipmentShipped", "StockShortage"],
        }
    ]
    assert gaps(["OrderPlaced", "OrderCancelled"]) == []
    assert [g["after"] for g in gaps(["RefundRequested", "OrderPlaced"])] == [
        "RefundRequested",
        "OrderPlaced",
    ]


def test_a_record_is_decoded_masked_and_bytes_that_are_no_envelope_are_shown_as_such() -> None:
    order_id = new_order_id()
    envelope = Envelope.wrap(placed(), producer="order", order_id=order_id)
    event = decoded(Record("orders.v1", 0, 7, 1_700_000_000_000, None, envelope.to_bytes()))
    assert (event["type"], event["order_id"], event["offset"]) == ("OrderPlaced", order_id, 7)
    assert event["payload"]["contact"]["email"] == "l***@example.com"
    garbage = decoded(Record("orders.v1", 0, 8, 1_700_000_000_000, None, b"\x00\xff"))
    assert garbage["type"] is None and garbage["payload"] == "<2 bytes, not JSON>"


def test_the_pick_list_says_which_parcel_of_an_order_each_shipment_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def entry(shipment_id: str, warehouse: str, number: int, of: int) -> dict[str, Any]:
        return {
            "shipment_id": shipment_id, "order_id": "ord_1", "stage": "to_pick",
            "promised_ship_date": "2026-12-03", "courier": "sf", "gift_message": None,
            "warehouse": warehouse, "parcel": {"number": number, "of": of},
            "lines": [{"sku": "TEA", "name": "Tea", "variant": None, "quantity": 1}],
        }  # fmt: skip

    page = {
        "pick_list": [
            entry("shp_a", "main", 1, 2),
            entry("shp_b", "north", 2, 2),
            entry("shp_c", "main", 1, 1),
        ],
        "next_cursor": None,
        "to_put_back": 0,
    }
    monkeypatch.setattr("fulfil.warehouse.call", lambda *_a, **_k: page)
    monkeypatch.setenv("COLUMNS", "200")
    code, output = run("warehouse", "pick-list")
    assert code == 0, output
    rows = {line.split()[1]: line for line in output.splitlines() if "shp_" in line}
    assert "1/2" in rows["shp_a"] and "main" in rows["shp_a"]
    assert "2/2" in rows["shp_b"] and "north" in rows["shp_b"]
    assert "/" not in rows["shp_c"].split("main")[0], "a whole order shows no parcel number"


def test_goods_received_say_how_many_waiting_orders_they_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: dict[str, Any] = {}

    def call(_config: Any, service: str, method: str, path: str, **kwargs: Any) -> Any:
        sent.update(service=service, method=method, path=path, body=kwargs.get("json"))
        return {
            "receipt_id": "d-7", "sku": "MUG", "warehouse": "main", "quantity": 3,
            "served": [{"order_id": "o1", "quantity": 2, "filled": True},
                       {"order_id": "o2", "quantity": 1, "filled": False}],
            "repeated": False,
        }  # fmt: skip

    monkeypatch.setattr("fulfil.backorders.call", call)
    code, output = run("backorders", "receive", "MUG", "3", "--receipt-id", "d-7")
    assert code == 0, output
    assert sent == {"service": "logistics", "method": "POST", "path": "/v1/stock/MUG/receipts",
                    "body": {"quantity": 3, "receipt_id": "d-7"}}  # fmt: skip
    assert "2 waiting orders served, 1 now ship whole" in output
    code, output = run("backorders", "receive", "MUG", "0")
    assert code != 0 and sent["body"]["quantity"] == 3, "no call for nothing received"


def test_a_restock_date_says_how_many_waiting_orders_were_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: dict[str, Any] = {}

    def call(_config: Any, service: str, method: str, path: str, **kwargs: Any) -> Any:
        sent.update(method=method, path=path, body=kwargs.get("json"))
        expected = (kwargs.get("json") or {}).get("expected_on")
        return {"sku": "MUG", "expected_on": expected, "told": 2 if expected else 0}

    monkeypatch.setattr("fulfil.backorders.call", call)
    code, output = run("backorders", "restock-date", "MUG", "2026-12-09")
    assert code == 0, output
    assert sent == {"method": "PUT", "path": "/v1/stock/MUG/restock-date",
                    "body": {"expected_on": "2026-12-09"}}  # fmt: skip
    assert "MUG expected back: 2026-12-09, 2 waiting orders told" in output
    code, output = run("backorders", "restock-date", "MUG", "none")
    assert code == 0 and "not known" in output and "told" not in output, output
