"""`fulfil funnel`'s summary of what the services' /metrics expose: each figure from the
service that owns it, quantiles as PromQL estimates them, a silent service shown."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from rich.console import Console

from deploy.local.ports import free_port
from fulfil.cli import cli
from fulfil.funnel import STAGES, Scrape, parse, quantile, render, summarise

BUCKETS = (1, 5, 10, 30, 60)


def exposition(**figures: float) -> str:
    """A service's /metrics text with the business figures set as named."""
    r = CollectorRegistry()
    Counter("fulfil_orders_placed_total", "", registry=r).inc(figures.get("placed", 0))
    status = Gauge("fulfil_orders_by_status", "", ["status"], registry=r)
    status.labels("completed").set(figures.get("completed", 0))
    status.labels("cancelled").set(figures.get("cancelled", 0))
    ended = Gauge("fulfil_orders_ended_by_reason", "", ["reason"], registry=r)
    ended.labels("customer_request").set(figures.get("cancelled", 0))
    Counter("fulfil_payments_requested_total", "", ["method"], registry=r).labels("card").inc(
        figures.get("requested", 0)
    )
    payments = Counter("fulfil_payments_total", "", ["method", "outcome"], registry=r)
    payments.labels("card", "succeeded").inc(figures.get("paid", 0))
    payments.labels("wallet", "succeeded").inc(figures.get("paid_wallet", 0))
    failures = Counter("fulfil_payment_failures_total", "", ["reason"], registry=r)
    failures.labels("insufficient_funds").inc(figures.get("failed", 0))
    Counter("fulfil_refunds_paid_total", "", ["provider"], registry=r).labels("sandbox").inc(
        figures.get("refunded", 0)
    )
    Counter("fulfil_shipments_shipped_total", "", registry=r).inc(figures.get("shipped", 0))
    pay_to_ship = Histogram("fulfil_pay_to_ship_duration_seconds", "", buckets=BUCKETS, registry=r)
    for _ in range(int(figures.get("shipped", 0))):
        pay_to_ship.observe(figures.get("pay_to_ship", 3))
    deliver = Histogram("fulfil_ship_to_deliver_duration_seconds", "", buckets=BUCKETS, registry=r)
    for _ in range(int(figures.get("delivered", 0))):
        deliver.observe(20)
    requests = Counter("fulfil_refund_requests_total", "", ["flow", "reason"], registry=r)
    requests.labels("before_shipping", "changed_mind").inc(figures.get("refund_requests", 0))
    messages = Counter("fulfil_messages_total", "", ["template", "channel", "outcome"], registry=r)
    messages.labels("shipped", "sms", "sent").inc(figures.get("sms", 0))
    messages.labels("shipped", "email", "failed").inc(figures.get("email_failed", 0))
    published = Counter("fulfil_events_published_total", "", ["topic"], registry=r)
    published.labels("orders.v1").inc(figures.get("orders_v1", 0))
    Gauge("fulfil_outbox_backlog", "", registry=r).set(figures.get("backlog", 0))
    return generate_latest(r).decode()


def test_each_figure_comes_from_the_service_that_owns_it() -> None:
    scrape = Scrape(
        samples={
            # every service exports every name (one registry per process): only the
            # owner's value counts
            "order": parse(exposition(placed=4, completed=1, cancelled=1, paid=99, orders_v1=9)),
            "payment": parse(
                exposition(placed=99, requested=4, paid=2, paid_wallet=1, failed=1, refunded=1)
            ),
            "logistics": parse(exposition(shipped=3, delivered=2, pay_to_ship=3, orders_v1=99)),
            "returns": parse(exposition(refund_requests=1)),
            "notify": parse(exposition(sms=3, email_failed=1, backlog=2)),
        }
    )
    figures = summarise(scrape)
    assert figures["funnel"] == {
        "placed": 4,
        "paid": 3,
        "shipped": 3,
        "delivered": 2,
        "completed": 1,
        "cancelled": 1,
        "closed": 0,
        "refused": 0,
        "refunded": 1,
    }
    assert tuple(figures["funnel"]) == STAGES
    assert figures["payment_conversion"] == pytest.approx(3 / 4)
    assert figures["payment_failures_by_reason"] == {"insufficient_funds": 1}
    pay_to_ship = figures["pay_to_ship"]
    assert pay_to_ship == {"median_s": pytest.approx(3.0), "p95_s": pytest.approx(4.8), "n": 3}
    assert figures["ship_to_deliver"]["n"] == 2
    assert figures["refunds_by_reason"] == {"changed_mind": 1}
    assert figures["refund_rate"] == pytest.approx(1 / 3)
    assert figures["refund_requests_by_flow"] == {"before_shipping": 1}
    assert figures["cancel_reasons"] == {"customer_request": 1}
    assert figures["messages_by_channel"] == {"sent": {"sms": 3}, "failed": {"email": 1}}
    assert figures["messages_sent"] == 3 and figures["messages_failed"] == 1
    assert figures["events_per_topic"] == {"orders.v1": 9}
    assert figures["flow"]["notify"]["outbox_backlog"] == 2
    assert all(service["ok"] for service in figures["services"].values())


def test_quantiles_are_interpolated_within_their_bucket_as_promql_does() -> None:
    buckets = [(1.0, 0.0), (2.0, 10.0), (4.0, 20.0), (float("inf"), 20.0)]
    assert quantile(0.5, buckets) == pytest.approx(2.0)
    assert quantile(0.25, buckets) == pytest.approx(1.5)
    assert quantile(0.75, buckets) == pytest.approx(3.0)
    assert quantile(0.99, [(1.0, 1.0), (float("inf"), 2.0)]) == 1.0  # above the last bound
    assert quantile(0.5, [(1.0, 0.0), (float("inf"), 0.0)]) is None


def test_a_service_that_does_not_answer_is_shown_and_the_others_summarised() -> None:
    scrape = Scrape(
        samples={"order": parse(exposition(placed=2))},
        errors={"payment": "ConnectError: refused"},
    )
    figures = summarise(scrape)
    assert figures["funnel"]["placed"] == 2 and figures["funnel"]["paid"] == 0
    assert figures["payment_conversion"] is None and figures["pay_to_ship"] is None
    assert figures["services"]["payment"] == {"ok": False, "error": "ConnectError: refused"}
    out = Console(record=True, width=160)
    out.print(render(figures))
    text = out.export_text()
    assert "payment: not answering (ConnectError: refused)" in text
    assert "placed" in text and "payment conversion" in text


def test_no_service_answering_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("order", "payment", "logistics", "notify", "returns"):
        monkeypatch.setenv(f"FULFIL_{name.upper()}_URL", f"http://127.0.0.1:{free_port()}")
    result = CliRunner().invoke(cli, ["funnel", "--json"])
    assert result.exit_code != 0
    assert "no service answered /metrics" in result.output
    assert result.output.strip().count("\n") == 0
