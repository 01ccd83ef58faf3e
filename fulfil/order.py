"""`fulfil order ID`: the order as every service shows it, and its events on every topic in
the order they happened, with the gaps (an expected next event not seen) highlighted."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from fulfil import broker
from fulfil.config import Config, OpsError
from fulfil.flow import decoded
from fulfil.masking import mask
from fulfil.ops_api import call
from fulfil.output import console, emit_json, table
from shared.contracts.registry import TOPICS

VIEWS = {
    "order": "/v1/orders/{id}",
    "payment": "/v1/orders/{id}/payment",
    "logistics": "/v1/orders/{id}/shipment",
    "returns": "/v1/orders/{id}/refund-requests",
    "notify": "/v1/orders/{id}/messages",
}

# What must follow an event in an order's life: one of these, later. A missing successor is
# a gap: the order is waiting there (or something was lost or set aside).
NEXT = {
    "OrderPlaced": {"PaymentRequested", "OrderCancelled"},
    "PaymentRequested": {"PaymentSucceeded", "PaymentFailed", "OrderCancelled"},
    "PaymentSucceeded": {"OrderPaid"},
    "OrderPaid": {"ShipmentShipped", "StockShortage", "OrderCancelled", "ShipmentCancelled"},
    "ShipmentShipped": {"ShipmentDelivered", "ShipmentStopped", "ShipmentCancelled"},
    "ShipmentDelivered": {"OrderCompleted"},
    "OrderCancellationRequested": {"OrderCancelled", "ShipmentAlreadyDispatched"},
    "RefundRequested": {"RefundApproved", "RefundRejected"},
    "RefundApproved": {"RefundPaid", "RefundFailed"},
}


def gaps(types: list[str]) -> list[dict[str, Any]]:
    """For each event whose expected successor never came after it: what was expected."""
    out = []
    for i, kind in enumerate(types):
        expected = NEXT.get(kind)
        if expected and not expected & set(types[i + 1 :]):
            out.append({"after": kind, "index": i, "expected": sorted(expected)})
    return out


def _view(config: Config, service: str, order_id: str) -> dict[str, Any]:
    try:
        return {
            "ok": True,
            "view": call(config, service, "GET", VIEWS[service].format(id=order_id)),
        }
    except OpsError as exc:
        return {"ok": False, "error": exc.message.removeprefix(f"{service}: ")}


def gather(config: Config, order_id: str) -> dict[str, Any]:
    """The order as every service's API shows it and its events on every topic in the order
    they happened, with the gaps: what `fulfil order` prints and the console shows. Raises
    OpsError when no service and no topic knows the order."""
    topics = [t for t in TOPICS if not t.dead_letter]
    by_order = {t.name for t in topics if t.key == "order_id"}
    key = order_id.encode()

    def about_the_order(record: broker.Record) -> bool:
        """On a topic keyed by order, its key says; elsewhere its envelope does."""
        if record.topic in by_order:
            return record.key == key
        return decoded(record)["order_id"] == order_id

    names = [t.name for t in topics]
    records = asyncio.run(broker.history(config.bootstrap, names, about_the_order))
    events = [e for e in map(decoded, records) if e["order_id"] == order_id]
    events.sort(key=lambda e: (e.get("occurred_at") or e["at"], e["topic"], e["offset"]))
    views = {service: _view(config, service, order_id) for service in VIEWS}
    if not events and not views["order"]["ok"]:
        raise OpsError(f"unknown order {order_id!r}: no service and no topic knows it")
    missing = gaps([e["type"] for e in events])
    return {"order_id": order_id, "services": views, "events": events, "gaps": missing}


@click.command()
@click.argument("order_id")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
@click.pass_obj
def order(config: Config, order_id: str, as_json: bool) -> None:
    """ORDER_ID as every service shows it, and its events on every topic, gaps highlighted."""
    found = gather(config, order_id)
    views, events, missing = found["services"], found["events"], found["gaps"]
    if as_json:
        emit_json(found)
        return
    for service, seen in views.items():
        shown = json.dumps(mask(seen["view"]), default=str) if seen["ok"] else seen["error"]
        console.out(f"{service:>9}: {shown}", highlight=False)
    after = {g["index"]: g for g in missing}
    rows: list[tuple[str, ...]] = []
    styles: list[str | None] = []
    for i, event in enumerate(events):
        rows.append((event["occurred_at"], event["topic"], event["type"], ""))
        styles.append(None)
        if i in after:
            rows.append(("", "", "", "GAP: expected " + " or ".join(after[i]["expected"])))
            styles.append("bold red")
    table(f"events of {order_id}", ("occurred", "topic", "type", "gap"), rows, styles)
