"""`fulfil funnel`: the shop's funnel and the flow, from the services' own `/metrics`.

Each figure is read from the service that owns it (placed from order, paid from payment,
shipped from logistics, ...), so what a process exports for another service's names is
never counted twice. Counters count since each process started; the order statuses
(completed, cancelled, closed, refused) are the order service's gauge of what its database holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import click
import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from fulfil.config import Config, OpsError
from fulfil.output import console, emit_json
from shared.contracts.registry import SERVICES, TOPICS

FLOW = ("outbox_backlog", "consumer_lag", "dead_letters_pending", "timers_due")
STAGES = (
    "placed",
    "paid",
    "shipped",
    "delivered",
    "completed",
    "cancelled",
    "closed",
    "refused",
    "refunded",
)
Labels = Mapping[str, str]


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Labels
    value: float

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return self.name, tuple(sorted(self.labels.items()))


@dataclass
class Scrape:
    """What each service's `/metrics` answered: its samples, or why there are none."""

    samples: dict[str, list[Sample]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)

    def total(self, service: str, name: str, **match: str) -> float:
        """The sum of `service`'s samples named `name` whose labels match."""
        return sum(
            s.value
            for s in self.samples.get(service, ())
            if s.name == name and all(s.labels.get(k) == v for k, v in match.items())
        )

    def by(self, service: str, name: str, label: str, **match: str) -> dict[str, float]:
        """`service`'s samples named `name` summed per value of `label`."""
        found: dict[str, float] = {}
        for s in self.samples.get(service, ()):
            if s.name == name and all(s.labels.get(k) == v for k, v in match.items()):
                key = s.labels.get(label, "")
                found[key] = found.get(key, 0.0) + s.value
        return found


LEVELS = frozenset(
    {
        "fulfil_outbox_backlog",
        "fulfil_consumer_lag",
        "fulfil_dead_letters_pending",
        "fulfil_timers_due",
    }
)
"""The flow's gauges: a level now, never a difference between two scrapes."""


def since(baseline: Scrape, now: Scrape) -> Scrape:
    """What moved between two scrapes: counters, histograms and the order statuses as
    differences (a value below its baseline means its process restarted: counted from
    zero, as PromQL's `increase` does), the flow's gauges as they are now."""
    moved = Scrape(errors=dict(now.errors), at=now.at)
    for service, samples in now.samples.items():
        old = {s.key: s.value for s in baseline.samples.get(service, ())}
        moved.samples[service] = [
            s if s.name in LEVELS else Sample(s.name, s.labels, _moved(s.value, old.get(s.key)))
            for s in samples
        ]
    return moved


def _moved(value: float, before: float | None) -> float:
    if before is None or value < before:
        return value
    return value - before


def parse(text: str) -> list[Sample]:
    """The samples of a Prometheus text exposition (prometheus_client's own parser)."""
    return [
        Sample(s.name, dict(s.labels), float(s.value))
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


async def scrape(urls: Mapping[str, str], timeout: float = 3.0) -> Scrape:
    """Every service's `/metrics` at once; a service that does not answer is noted."""
    result = Scrape()

    async def one(client: httpx.AsyncClient, service: str, url: str) -> None:
        try:
            response = await client.get(f"{url}/metrics")
            response.raise_for_status()
            result.samples[service] = parse(response.text)
        except (httpx.HTTPError, ValueError) as exc:
            result.errors[service] = f"{type(exc).__name__}: {exc}" if str(exc) else repr(exc)

    async with httpx.AsyncClient(timeout=timeout) as client:
        await asyncio.gather(*(one(client, s, u) for s, u in urls.items()))
    return result


def quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """The q-quantile of a histogram from its cumulative buckets (upper bound, count), as
    PromQL's histogram_quantile estimates it: linear within the bucket it falls in."""
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in ordered:
        if count >= rank:
            if upper == float("inf"):
                return lower
            if count == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower


def _histogram(scrape: Scrape, service: str, name: str) -> dict[str, float] | None:
    buckets = [
        (float(s.labels["le"]), s.value)
        for s in scrape.samples.get(service, ())
        if s.name == f"{name}_bucket"
    ]
    n = scrape.total(service, f"{name}_count")
    if not n:
        return None
    median, p95 = quantile(0.5, buckets), quantile(0.95, buckets)
    assert median is not None and p95 is not None
    return {"median_s": median, "p95_s": p95, "n": int(n)}


def _ints(values: Mapping[str, float]) -> dict[str, int]:
    return {k: int(v) for k, v in sorted(values.items(), key=lambda kv: (-kv[1], kv[0])) if v}


def _reminders(sent: Mapping[str, float], paid_after: Mapping[str, float]) -> dict[str, Any]:
    """Per wording: reminders sent, orders paid after one, and the rate."""
    return {
        v: {
            "sent": int(n),
            "converted": int(paid_after.get(v, 0)),
            "rate": paid_after.get(v, 0) / n,
        }
        for v, n in sorted(sent.items())
        if n
    }


def summarise(scrape: Scrape) -> dict[str, Any]:
    """The figures operations reads, from one scrape: the funnel, conversion, failures and
    refunds by reason, pay-to-ship, messages, and the flow."""
    total, by = scrape.total, scrape.by
    statuses = by("order", "fulfil_orders_by_status", "status")
    requested = total("payment", "fulfil_payments_requested_total")
    paid = total("payment", "fulfil_payments_total", outcome="succeeded")
    refund_requests = total("returns", "fulfil_refund_requests_total")
    funnel = {
        "placed": total("order", "fulfil_orders_placed_total"),
        "paid": paid,
        "shipped": total("logistics", "fulfil_shipments_shipped_total"),
        "delivered": total("logistics", "fulfil_ship_to_deliver_duration_seconds_count"),
        "completed": statuses.get("completed", 0),
        "cancelled": statuses.get("cancelled", 0),
        "closed": statuses.get("closed", 0),
        "refused": statuses.get("refused", 0),
        "refunded": total("payment", "fulfil_refunds_paid_total"),
    }
    messages, failures = "fulfil_messages_total", "fulfil_payment_failures_total"
    sent = by("notify", messages, "template", outcome="sent")
    reminders = by("notify", "fulfil_reminders_sent_total", "variant")
    paid_after = by("notify", "fulfil_reminder_conversions_total", "variant")
    return {
        "services": {
            s: {"ok": s in scrape.samples, "error": scrape.errors.get(s)}
            for s in (*scrape.samples, *scrape.errors)
        },
        "funnel": {stage: int(funnel[stage]) for stage in STAGES},
        "payment_conversion": paid / requested if requested else None,
        "payments_requested": int(requested),
        "payments_expired": int(total("payment", "fulfil_payments_total", outcome="expired")),
        "payment_failures": int(total("payment", failures)),
        "payment_failures_by_reason": _ints(by("payment", failures, "reason")),
        "pay_to_ship": _histogram(scrape, "logistics", "fulfil_pay_to_ship_duration_seconds"),
        "ship_to_deliver": _histogram(
            scrape, "logistics", "fulfil_ship_to_deliver_duration_seconds"
        ),
        "stock_outs": int(total("logistics", "fulfil_stock_outs_total")),
        "delays_by_cause": _ints(by("logistics", "fulfil_delays_announced_total", "cause")),
        "refund_rate": refund_requests / paid if paid else None,
        "refunds_by_reason": _ints(by("returns", "fulfil_refund_requests_total", "reason")),
        "refund_requests_by_flow": _ints(by("returns", "fulfil_refund_requests_total", "flow")),
        "cancel_reasons": _ints(by("order", "fulfil_orders_ended_by_reason", "reason")),
        "messages_sent": int(sum(sent.values())),
        "messages_failed": int(total("notify", messages, outcome="failed")),
        "messages_by_template": _ints(sent),
        "messages_by_channel": {
            outcome: _ints(by("notify", messages, "channel", outcome=outcome))
            for outcome in ("sent", "failed")
        },
        "reminders": _reminders(reminders, paid_after),
        "events_per_topic": {
            t.name: int(total(t.producer, "fulfil_events_published_total", topic=t.name))
            for t in TOPICS
            if total(t.producer, "fulfil_events_published_total", topic=t.name)
        },
        "flow": {
            s: {
                "outbox_backlog": int(total(s, "fulfil_outbox_backlog")),
                "consumer_lag": int(total(s, "fulfil_consumer_lag")),
                "dead_letters_pending": int(total(s, "fulfil_dead_letters_pending")),
                "timers_due": int(total(s, "fulfil_timers_due")),
            }
            for s in SERVICES
            if s in scrape.samples
        },
    }


def _bar(value: int, top: int, width: int = 30) -> str:
    return "█" * max(0, round(width * value / top)) if top > 0 else ""


def _seconds(figure: dict[str, float] | None) -> str:
    if not figure:
        return "-"
    return f"p50 {figure['median_s']:.1f}s  p95 {figure['p95_s']:.1f}s  (n {figure['n']})"


def _pairs(values: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in values.items()) or "-"


def render(figures: dict[str, Any], rates: Mapping[str, float] | None = None) -> Group:
    """The funnel, the headline figures and the flow, as rich tables."""
    funnel = figures["funnel"]
    stages = Table(title="Funnel (orders)", title_justify="left")
    stages.add_column("stage")
    stages.add_column("orders", justify="right")
    stages.add_column("")
    for stage, count in funnel.items():
        stages.add_row(stage, str(count), _bar(count, funnel["placed"]))
    conversion = figures["payment_conversion"]
    head = Table.grid(padding=(0, 2))
    head.add_column()
    head.add_column()
    head.add_row("payment conversion", f"{conversion:.1%}" if conversion is not None else "-")
    head.add_row("payment failures", _pairs(figures["payment_failures_by_reason"]))
    head.add_row("payment → shipped", _seconds(figures["pay_to_ship"]))
    head.add_row("shipped → delivered", _seconds(figures["ship_to_deliver"]))
    rate = figures["refund_rate"]
    head.add_row("refund rate", f"{rate:.1%} of paid orders" if rate is not None else "-")
    head.add_row("refunds by reason", _pairs(figures["refunds_by_reason"]))
    head.add_row("stock-outs", str(figures["stock_outs"]))
    head.add_row("delays by cause", _pairs(figures["delays_by_cause"]))
    for outcome, channels in figures["messages_by_channel"].items():
        head.add_row(f"messages {outcome}", _pairs(channels))
    for variant, r in figures["reminders"].items():
        paid_after = f"{r['converted']}/{r['sent']} paid ({r['rate']:.0%})"
        head.add_row(f"reminder '{variant}'", paid_after)
    topics = Table(title="Events published per topic", title_justify="left")
    topics.add_column("topic")
    topics.add_column("total", justify="right")
    if rates is not None:
        topics.add_column("/s", justify="right")
    for topic, count in figures["events_per_topic"].items():
        style = "red" if topic.startswith("deadletter.") else ""
        rate = [] if rates is None else [f"{rates.get(topic, 0.0):.1f}"]
        topics.add_row(Text(topic, style=style), str(count), *rate)
    flow = Table(title="Flow per service", title_justify="left")
    for column in ("service", "outbox backlog", "consumer lag", "dead letters", "timers due"):
        flow.add_column(column, justify="left" if column == "service" else "right")
    for service, f in figures["flow"].items():
        flow.add_row(service, *(str(f[k]) for k in FLOW))
    down = [
        Text(f"{s}: not answering ({v['error']})", style="red")
        for s, v in figures["services"].items()
        if not v["ok"]
    ]
    top = Table.grid(padding=(0, 4))
    top.add_row(stages, head)
    return Group(top, topics, flow, *down)


def topic_rates(before: dict[str, Any], after: dict[str, Any], seconds: float) -> dict[str, float]:
    """Events per second per topic between two summaries `seconds` apart."""
    old, new = before["events_per_topic"], after["events_per_topic"]
    span = max(seconds, 1e-3)
    return {t: max(0, n - old.get(t, 0)) / span for t, n in new.items()}


def service_urls(config: Config) -> dict[str, str]:
    return {service: config.service_url(service) for service in SERVICES}


def figures_of(urls: Mapping[str, str]) -> dict[str, Any]:
    """One scrape, summarised; an OpsError when no service answers."""
    found = asyncio.run(scrape(urls))
    if not found.samples:
        errors = "; ".join(f"{s}: {e}" for s, e in found.errors.items())
        raise OpsError(f"no service answered /metrics ({errors})")
    return summarise(found)


@click.command()
@click.option("--watch", is_flag=True, help="redraw every 2 s until Ctrl-C")
@click.option("--json", "as_json", is_flag=True, help="the figures once, as JSON")
@click.pass_obj
def funnel(config: Config, watch: bool, as_json: bool) -> None:
    """The live funnel (placed, paid, shipped, delivered, completed, refunded, cancelled),
    payment conversion, failures and refunds by reason, pay-to-ship and the flow, read
    from each service's /metrics. A service that does not answer is shown as such."""
    urls = service_urls(config)
    figures = figures_of(urls)
    if as_json:
        emit_json(figures)
        return
    if not watch:
        console.print(render(figures))
        return
    last, last_at = figures, time.monotonic()
    try:
        with Live(render(figures), console=console, refresh_per_second=4) as live:
            while True:
                time.sleep(2)
                # services that stop answering meanwhile are shown, the watch goes on
                now_figures, now = summarise(asyncio.run(scrape(urls))), time.monotonic()
                live.update(render(now_figures, topic_rates(last, now_figures, now - last_at)))
                last, last_at = now_figures, now
    except KeyboardInterrupt:
        return
