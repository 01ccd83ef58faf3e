"""The sender: delivers recorded messages whose time has come, outside any transaction.

Each pass claims due messages under a lease (replicas share the work and a
crashed sender's claims expire), delivers them through the channel adapters
with the message id as idempotency key, then records the outcome in a unit:
sent (NotificationSent), retried later with backoff, or failed for good
(NotificationFailed) when the channel refuses permanently or the attempts run out.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
import structlog
from prometheus_client import Counter

from services.notify import repository, steps
from services.notify.channels import ChannelError, Delivery
from services.notify.deps import Deps
from shared import db, outbox
from shared.logging import get_logger

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = get_logger(__name__)
_AFTER_FAILURE = 1.0  # seconds before the pass after a failed one
_SOONEST = 0.01  # a due message another transaction holds right now: look again shortly
DELIVERIES = Counter(
    "fulfil_notify_deliveries_total",
    "Message delivery attempts",
    ["channel", "template", "outcome"],
)


async def run_sender(runtime: Runtime[Deps]) -> None:
    """The background loop: one pass after another while there is work; then it sleeps
    until the next message falls due, a newly recorded one commits (NOTIFY), or at most
    `sender_poll_seconds`. Idle, it costs the database a statement or two a poll, not a
    commit every second. The channels' connections end with it."""
    deps = runtime.deps
    poll = deps.settings.sender_poll_seconds
    try:
        async with db.woken_by(deps.settings.database_url, "notify_messages") as recorded:
            while True:
                recorded.clear()
                wait = poll
                try:
                    if await send_due(runtime) >= deps.settings.sender_batch_size:
                        continue
                    wait = await until_next_due(runtime, poll)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # keep delivering either way; claimed messages come back when their lease ends
                    wait = min(poll, _AFTER_FAILURE)
                    if db.is_transient(exc):
                        log.warning("sending pass failed; retrying", error=repr(exc))
                    else:
                        log.exception("sending pass failed unexpectedly; retrying")
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(recorded.wait(), wait)
    finally:
        for channel in deps.channels.values():
            with contextlib.suppress(Exception):
                await asyncio.shield(channel.aclose())


async def until_next_due(runtime: Runtime[Deps], longest: float) -> float:
    """Seconds until the next recorded message falls due (at most `longest`)."""
    async with runtime.db.acquire() as conn:
        due = await repository.next_due(conn)
    if due is None:
        return longest
    return min(longest, max(_SOONEST, (due - datetime.now(UTC)).total_seconds()))


async def send_due(runtime: Runtime[Deps]) -> int:
    """One pass: claims due messages, delivers them concurrently; returns how many."""
    deps = runtime.deps
    s = deps.settings
    async with runtime.db.acquire() as conn:
        rows = await repository.claim_due(
            conn, datetime.now(UTC), s.sender_batch_size, timedelta(seconds=s.sender_lease_seconds)
        )
    claimed = [dict(row) for row in rows]
    errors = await asyncio.gather(*(deliver(deps, row) for row in claimed))
    await record_outcomes(runtime, list(zip(claimed, errors, strict=True)))
    return len(rows)


async def deliver(deps: Deps, row: dict[str, Any]) -> ChannelError | None:
    """Sends one message; None when the channel took it, else why not."""
    about = {k: row[k] for k in ("order_id", "correlation_id", "source_event_id")}
    with structlog.contextvars.bound_contextvars(
        notification_id=row["id"], **about, template=row["template"], channel=row["channel"]
    ):
        delivery = Delivery(
            message_id=row["id"],
            channel=row["channel"],
            recipient=row["recipient"],
            text=row["body_text"],
            subject=row["subject"],
            html=row["body_html"],
            unsubscribe_url=row.get("unsubscribe_url"),
            template=row["template"],
            order_id=row["order_id"],
            # after a claim with no recorded outcome too: the call may have gone out
            attempt=max(row["attempts"] + 1, row.get("claims") or 0),
        )
        try:
            await deps.channels[row["channel"]].send(delivery)
        except ChannelError as exc:
            return exc
        except Exception as exc:  # an adapter bug: retried, then recorded as failed
            log.exception("channel adapter raised unexpectedly")
            return ChannelError(f"adapter error: {exc!r}", permanent=False)
        return None


async def record_outcomes(
    runtime: Runtime[Deps], results: list[tuple[dict[str, Any], ChannelError | None]]
) -> None:
    """Records a pass's outcomes in one transaction; should that fail, each on its own
    (what is not recorded is sent again, with the same idempotency key, once its lease
    ends)."""
    if len(results) > 1:
        try:
            async with runtime.db.acquire() as conn, conn.transaction():
                units = [
                    runtime.units.on(
                        conn,
                        correlation_id=row["correlation_id"],
                        causation_id=row["source_event_id"],
                    )
                    for row, _ in results
                ]
                outcomes = await steps.record_deliveries(units, results)
                await outbox.add_many(conn, [r for unit in units for r in unit.outgoing])
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            log.warning("recording a pass failed; recording one by one", error=repr(exc))
        else:
            for unit in units:
                unit.commit_done()
            for (row, error), outcome in zip(results, outcomes, strict=True):
                report(row, error, outcome)
            return
    for row, error in results:
        async with runtime.unit(
            correlation_id=row["correlation_id"], causation_id=row["source_event_id"]
        ) as unit:
            outcome = await steps.record_delivery(unit, row, error)
        report(row, error, outcome)


def report(row: dict[str, Any], error: ChannelError | None, outcome: str) -> None:
    """Metrics and a log line, once the outcome is committed."""
    DELIVERIES.labels(row["channel"], row["template"], outcome).inc()
    with structlog.contextvars.bound_contextvars(
        notification_id=row["id"], order_id=row["order_id"], template=row["template"]
    ):
        attempts = row["attempts"] + 1
        if error is None:
            log.info("message sent", attempts=attempts)
        else:
            log.warning(
                "message not delivered", outcome=outcome, attempts=attempts, error=str(error)
            )
