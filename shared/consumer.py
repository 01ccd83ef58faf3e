"""Consuming: decode, route by event model to the service's handler table, record, commit.

Each message is handled in one transaction with its inbox record, so a
redelivery has no second effect. What cannot be handled is never swallowed:
transient failures are retried with backoff; poison (bytes that do not decode,
an unknown type, an unsupported schema version, a handler that keeps failing)
is written to the service's dead-letter topic, through the outbox, with the
original bytes and headers, the reason, the consumer and the attempt count,
and the partition moves on. While the database itself is unreachable nothing
can be recorded, so the message waits (retried with capped backoff) rather
than being lost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import asyncpg

from shared import db, dead_lettering, inbox, metrics, outbox, tracing
from shared.backoff import capped_backoff
from shared.contracts.envelope import Event, event_types
from shared.contracts.registry import topic
from shared.logging import get_logger
from shared.messages import (
    Handler,
    Handlers,
    Incoming,
    Poison,
    RawMessage,
    decode,
    inbox_entry,
    log_context,
    poison_span,
    record_span,
)
from shared.unit import Unit, Units

log = get_logger(__name__)

_CONFLICTS = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)


def is_transient(exc: BaseException) -> bool:
    """What a retry of the same message can cure: the database being unreachable
    (`db.is_transient`) or a conflict with a concurrent transaction."""
    return db.is_transient(exc) or isinstance(exc, _CONFLICTS)


class MessageProcessor:
    def __init__(
        self,
        service: str,
        pool: asyncpg.Pool,
        handlers: Handlers,
        units: Units[Any],
        *,
        max_attempts: int = 5,
        backoff_seconds: float = 0.2,
        backoff_max_seconds: float = 2.0,
    ) -> None:
        self.service = service
        self.pool = pool
        self.handlers = handlers
        self.units = units
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self._ignorable: dict[tuple[str, bytes, bytes], str | None] = {}

    def ignored_by_headers(self, raw: RawMessage) -> str | None:
        """The event type, when the headers alone show that this service ignores the message:
        they name a model declared on its topic that the handler table does not handle. The
        body is then never parsed. Without those headers, or when they name anything else,
        None: the message is decoded in full (and poison is still dead-lettered)."""
        named: bytes | None = None
        version: bytes | None = None
        for name, value in raw.headers:
            if name == "type":
                named = value
            elif name == "schema_version":
                version = value
        if named is None or version is None:
            return None
        key = (raw.topic, named, version)
        if key not in self._ignorable:
            self._ignorable[key] = self._ignorable_type(raw.topic, named, version)
        return self._ignorable[key]

    def _ignorable_type(self, topic_name: str, named: bytes, version: bytes) -> str | None:
        try:
            model = event_types().get((named.decode(), int(version)))
            declared = topic(topic_name).events
        except (UnicodeDecodeError, ValueError, KeyError):
            return None
        if model is None or model not in declared or model in self.handlers:
            return None
        return model.TYPE

    def _ignore(self, raw: RawMessage, event_type: str) -> str:
        metrics.EVENTS_CONSUMED.labels(raw.topic, event_type, "ignored").inc()
        return "ignored"

    async def process(self, raw: RawMessage) -> str:
        """Handles one message to its end; returns the outcome for metrics and tests."""
        skipped = self.ignored_by_headers(raw)
        if skipped is not None:
            return self._ignore(raw, skipped)
        try:
            incoming = decode(raw)
        except Poison as poison:
            traced = tracing.tracer(self.service) if tracing.ENABLED else None
            if traced is None:
                return await self._settle_poison(raw, poison, attempts=1)
            with poison_span(traced, raw, poison):  # the trace shows where the record stopped
                return await self._settle_poison(raw, poison, attempts=1)
        handler = self.handlers.get(type(incoming.payload))
        if handler is None:
            return self._ignore(raw, incoming.envelope.type)
        return await self._handle(handler, incoming)

    async def process_batch(self, raws: Sequence[RawMessage]) -> list[str]:
        """Handles what one poll brought, in one transaction, when every message decodes and
        every handler succeeds: one commit instead of one per message (none when the service
        ignores them all). When anything fails the transaction rolls back as a whole and each
        message is handled on its own by `process`, with its retries and dead letters, so a
        batch never changes the outcome."""
        if len(raws) < 2:
            return [await self.process(raw) for raw in raws]
        plan: list[str | tuple[Handler, Incoming[Event]]] = []  # a type: ignored
        for raw in raws:
            skipped = self.ignored_by_headers(raw)
            if skipped is not None:
                plan.append(skipped)
                continue
            try:
                incoming = decode(raw)
            except Poison:
                return [await self.process(raw) for raw in raws]
            handler = self.handlers.get(type(incoming.payload))
            plan.append(incoming.envelope.type if handler is None else (handler, incoming))
        handled = [step for step in plan if not isinstance(step, str)]
        started = time.perf_counter()
        outcomes: list[str] = []
        if handled:
            try:
                outcomes = await self._handle_batch(handled)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                metrics.BATCH_FALLBACKS.inc()
                log.info("batch rolled back; handling its messages one by one", error=repr(exc))
                return [await self.process(raw) for raw in raws]
        each = (time.perf_counter() - started) / max(1, len(handled))
        results: list[str] = []
        handled_outcomes = iter(outcomes)
        for raw, step in zip(raws, plan, strict=True):
            if isinstance(step, str):
                results.append(self._ignore(raw, step))
                continue
            outcome = next(handled_outcomes)
            metrics.HANDLER_SECONDS.labels(step[1].envelope.type).observe(each)
            metrics.EVENTS_CONSUMED.labels(raw.topic, step[1].envelope.type, outcome).inc()
            results.append(outcome)
        return results

    async def _handle_batch(self, batch: list[tuple[Handler, Incoming[Event]]]) -> list[str]:
        """The handled messages of a batch in one transaction; their outcomes, in order."""
        outcomes: list[str] = []
        units: list[Unit[Any]] = []
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await inbox.record_many(conn, [inbox_entry(i) for _, i in batch])
            rows: list[outbox.Row] = []
            traced = tracing.tracer(self.service) if tracing.ENABLED else None
            for handler, incoming in batch:
                event_id = str(incoming.envelope.event_id)
                if traced is None:
                    outcome, unit = await self._handle_in(
                        conn, handler, incoming, fresh=event_id in fresh
                    )
                else:
                    with record_span(traced, incoming, len(batch)) as span:
                        outcome, unit = await self._handle_in(
                            conn, handler, incoming, fresh=event_id in fresh
                        )
                        span.set_attribute("fulfil.outcome", outcome)
                fresh.discard(event_id)  # the same event again in this batch is a duplicate
                outcomes.append(outcome)
                if unit is not None:
                    rows.extend(unit.outgoing)
                    units.append(unit)
            await outbox.add_many(conn, rows)
        for unit in units:
            unit.commit_done()
        return outcomes

    async def _handle_in(
        self,
        conn: asyncpg.Connection,
        handler: Handler,
        incoming: Incoming[Event],
        *,
        fresh: bool,
    ) -> tuple[str, Unit[Any] | None]:
        """One message inside a transaction: its outcome and its unit, whose outbox rows
        the caller writes and whose `commit_done` it calls after the commit. `fresh`: the
        inbox took it (it was not seen before)."""
        envelope = incoming.envelope
        with log_context(envelope):
            if not fresh:
                log.debug("duplicate message skipped")
                return "duplicate", None
            unit = self.units.on(
                conn,
                correlation_id=envelope.correlation_id,
                causation_id=str(envelope.event_id),
                # carried through unchanged unless a span of ours is current (tracing on)
                trace=None if self._traced() else tracing.of_headers(incoming.raw.headers),
            )
            await handler(unit, incoming)
            return "handled", unit

    def _traced(self) -> bool:
        return tracing.ENABLED and tracing.tracer(self.service) is not None

    async def _handle(self, handler: Handler, incoming: Incoming[Event]) -> str:
        with log_context(incoming.envelope):
            traced = tracing.tracer(self.service) if tracing.ENABLED else None
            if traced is None:
                return await self._attempt(handler, incoming)
            with record_span(traced, incoming, 1) as span:
                outcome = await self._attempt(handler, incoming)
                span.set_attribute("fulfil.outcome", outcome)
                return outcome

    async def _attempt(self, handler: Handler, incoming: Incoming[Event]) -> str:
        envelope, raw = incoming.envelope, incoming.raw
        failures = 0  # every failed attempt, for the backoff
        handler_failures = 0  # only those an outage does not explain count towards poison
        while True:
            started = time.perf_counter()
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    fresh = await inbox.record_many(conn, [inbox_entry(incoming)])
                    outcome, unit = await self._handle_in(
                        conn, handler, incoming, fresh=bool(fresh)
                    )
                    if unit is not None:
                        await outbox.add_many(conn, unit.outgoing)
                if unit is not None:
                    unit.commit_done()
                metrics.HANDLER_SECONDS.labels(envelope.type).observe(time.perf_counter() - started)
                metrics.EVENTS_CONSUMED.labels(raw.topic, envelope.type, outcome).inc()
                return outcome
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if is_transient(exc):
                    metrics.HANDLER_RETRIES.labels(envelope.type, "transient").inc()
                    log.warning("transient failure; retrying", attempt=failures, error=repr(exc))
                else:
                    handler_failures += 1
                    metrics.HANDLER_RETRIES.labels(envelope.type, "handler").inc()
                    if handler_failures >= self.max_attempts:
                        poison = Poison("handler_failed", repr(exc), envelope)
                        log.exception("handler keeps failing; dead-lettering", attempts=failures)
                        return await self._settle_poison(raw, poison, attempts=failures)
                    log.warning("handler failed; retrying", attempt=failures, error=repr(exc))
            await asyncio.sleep(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        return capped_backoff(
            failures, self.backoff_seconds, self.backoff_max_seconds
        ).total_seconds()

    async def _settle_poison(self, raw: RawMessage, poison: Poison, *, attempts: int) -> str:
        failures = 0
        while True:
            try:
                return await self._dead_letter(raw, poison, attempts)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_transient(exc):
                    raise
                failures += 1
                log.warning("cannot record dead letter yet; retrying", error=repr(exc))
                await asyncio.sleep(self._backoff(failures))

    async def _dead_letter(self, raw: RawMessage, poison: Poison, attempts: int) -> str:
        envelope = poison.envelope
        event_type = envelope.type if envelope else None
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await dead_lettering.set_aside(
                conn,
                self.service,
                raw,
                message_id=str(envelope.event_id) if envelope else raw.position,
                event_type=event_type,
                reason=poison.reason,
                detail=poison.detail,
                attempts=attempts,
            )
        if not fresh:
            return "duplicate"
        metrics.DEAD_LETTERED.labels(raw.topic, poison.reason).inc()
        metrics.EVENTS_CONSUMED.labels(
            raw.topic, event_type or "undecodable", "dead_lettered"
        ).inc()
        log.error(
            "message dead-lettered",
            reason=poison.reason,
            detail=poison.detail,
            position=raw.position,
            attempts=attempts,
        )
        return "dead_lettered"
