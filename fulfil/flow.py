"""`fulfil lag` and `fulfil tail`: the flow, read from the broker."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import click
from pydantic import ValidationError

from fulfil import broker
from fulfil.config import Config, OpsError
from fulfil.masking import mask
from fulfil.output import console, emit_json, table
from shared.contracts.envelope import Envelope
from shared.contracts.registry import SERVICES
from shared.kafka.groups import service_groups


@click.command()
@click.option("--service", "services", multiple=True, help="only this service's group")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
@click.pass_obj
def lag(config: Config, services: tuple[str, ...], as_json: bool) -> None:
    """Per consumer group and partition: committed offset, end offset and lag."""
    for name in services:
        config.service_url(name)  # refuses an unknown service
    chosen = services or SERVICES
    groups = {  # each service's own group and its `-streams` group (faust)
        group: topics
        for s in chosen
        for group, topics in service_groups(s, config.group_suffix).topics_by_group().items()
    }
    found = asyncio.run(broker.lags(config.bootstrap, groups))
    if as_json:
        emit_json([row.as_dict() for row in found])
        return
    rows = [
        (r.group, r.topic, r.partition, "-" if r.committed is None else r.committed, r.end, r.lag)
        for r in found
    ]
    table("consumer lag", ("group", "topic", "partition", "committed", "end", "lag"), rows)
    console.print(f"total lag: {sum(r.lag for r in found)}")


def decoded(record: broker.Record) -> dict[str, Any]:
    """A record as operations read it: its envelope's type, order, time and masked payload;
    bytes that are no envelope are shown as such, never raised on."""
    base: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "at": datetime.fromtimestamp(record.timestamp_ms / 1000, UTC).isoformat(),
    }
    try:
        envelope = Envelope.model_validate_json(record.value or b"")
    except ValidationError:
        try:
            body = json.loads(record.value or b"")
        except ValueError:
            body = f"<{len(record.value or b'')} bytes, not JSON>"
        return {**base, "type": None, "order_id": None, "payload": mask(body)}
    return {
        **base,
        "type": envelope.type,
        "order_id": envelope.order_id,
        "event_id": str(envelope.event_id),
        "occurred_at": envelope.occurred_at.isoformat(),
        "payload": mask(envelope.payload),
    }


@click.command()
@click.argument("topic")
@click.option("--type", "event_type", help="only events of this type")
@click.option("--order", "order_id", help="only events about this order")
@click.option("--from-beginning", is_flag=True, help="from the topic's first record")
@click.option("--max", "limit", type=click.IntRange(min=1), help="stop after N events")
@click.option("--idle", type=click.FloatRange(min=0.1), help="stop after N seconds of silence")
@click.option("--json", "as_json", is_flag=True, help="one JSON object a line")
@click.pass_obj
def tail(
    config: Config,
    topic: str,
    event_type: str | None,
    order_id: str | None,
    from_beginning: bool,
    limit: int | None,
    idle: float | None,
    as_json: bool,
) -> None:
    """Follow TOPIC, decoded, filtered by event type and order."""
    if topic not in broker.known_topics():
        raise OpsError(f"unknown topic {topic!r}; see `fulfil topics`")

    async def follow() -> None:
        shown = 0
        stream = broker.records(
            config.bootstrap, [topic], from_beginning=from_beginning, idle_seconds=idle
        )
        async for record in stream:
            event = decoded(record)
            if event_type and event["type"] != event_type:
                continue
            if order_id and event["order_id"] != order_id:
                continue
            _show(event, as_json)
            shown += 1
            if limit is not None and shown >= limit:
                await stream.aclose()
                return

    asyncio.run(follow())


def _show(event: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(event)
        return
    where = f"{event['topic']}:{event['partition']}:{event['offset']}"
    payload = json.dumps(event["payload"], sort_keys=True, default=str)
    console.out(
        f"{event.get('occurred_at') or event['at']}  {event['type'] or '<undecodable>'}  "
        f"order={event['order_id'] or '-'}  {where}  {payload}",
        highlight=False,
    )


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
def topics(as_json: bool) -> None:
    """The topics `tail` follows."""
    names = broker.known_topics()
    if as_json:
        emit_json(names)
    else:
        table("topics", ("topic",), [(name,) for name in names])
