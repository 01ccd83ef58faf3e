"""Prometheus metrics a person running the system asks for. One process is one service.

Conventions: every family is named `fulfil_...`, durations are `..._duration_seconds`
histograms, counters end in `_total`, and no `_created` series is exported (a timestamp
per labelled child that doubles what a scrape carries and no dashboard reads). The
process's own CPU and memory are exported as `fulfil_process_*`; the interpreter's GC
and platform families are not exported.
"""

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)

disable_created_metrics()
for _default in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.unregister(_default)
ProcessCollector(namespace="fulfil")

EVENTS_CONSUMED = Counter(
    "fulfil_events_consumed_total",
    "Messages consumed, by topic, event type and outcome",
    ["topic", "type", "outcome"],
)
EVENTS_PUBLISHED = Counter(
    "fulfil_events_published_total", "Records published by the outbox relay", ["topic"]
)
HANDLER_SECONDS = Histogram(
    "fulfil_handler_duration_seconds",
    "Time to handle one message, transaction included",
    ["type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HANDLER_RETRIES = Counter(
    "fulfil_handler_retries_total",
    "Handler attempts that failed and were retried",
    ["type", "kind"],
)
BATCH_FALLBACKS = Counter(
    "fulfil_batch_fallbacks_total",
    "Consumed batches rolled back and handled message by message instead",
)
DEAD_LETTERED = Counter(
    "fulfil_dead_lettered_total", "Messages set aside on the dead-letter topic", ["topic", "reason"]
)
OUTBOX_BACKLOG = Gauge("fulfil_outbox_backlog", "Outbox rows not yet published")
HELD_EVENTS = Gauge("fulfil_held_events", "Events held until the order they are about is known")
OUTBOX_PUBLISH_FAILURES = Counter(
    "fulfil_outbox_publish_failures_total", "Outbox records the broker did not acknowledge"
)
CONSUMER_LAG = Gauge(
    "fulfil_consumer_lag", "Records behind the partition's end", ["topic", "partition"]
)
TIMERS_FIRED = Counter("fulfil_timers_fired_total", "Timers fired", ["kind", "outcome"])
HTTP_REQUEST_SECONDS = Histogram(
    "fulfil_http_request_duration_seconds",
    "Time to answer one HTTP request, by method, route template and status (its `_count`"
    " counts the requests)",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DEAD_LETTERS_PENDING = Gauge(
    "fulfil_dead_letters_pending",
    "Dead letters neither replayed nor discarded, by reason (refreshed every 15 s)",
    ["reason"],
)
TIMERS_DUE = Gauge(
    "fulfil_timers_due", "Pending timers whose due time has passed (refreshed every 15 s)"
)
