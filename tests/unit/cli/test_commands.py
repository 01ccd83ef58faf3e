"""What the command refuses before it reaches the broker or a service, and how it reads an
order's events and records."""

from __future__ import annotations

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
