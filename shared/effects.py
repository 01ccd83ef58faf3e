"""Calls with an effect outside our databases, made once however transactions end.

The one rule for a refund, a payment session, a carrier booking: the unit that decides
the call records it (`record`) with an idempotency key derived from what caused it,
never a random one. Nothing is called inside that transaction, so a rolled-back batch
or a crash before the commit leaves nothing behind, and the redelivered message records
the same key again. After the commit the worker (`worker`, a service background task)
claims due effects under a lease, makes each call outside any transaction with its key,
and records the outcome in a unit of its own: done, retried later with backoff, or
failed for good. A crash between the call and that record makes the call again with
the same key once the lease ends, and the other side answers it as it did the first
time. notify's sender works the same way for its messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from prometheus_client import Counter

from shared import db, tracing
from shared.backoff import capped_backoff
from shared.logging import get_logger
from shared.unit import Service, Unit

log = get_logger(__name__)
# The longest pause between two tries to record an outcome while the database is away.
RECORD_RETRY_MAX_SECONDS = 2.0
EFFECT_CALLS = Counter(
    "fulfil_effect_calls_total",
    "Outbound calls with an effect, by kind and outcome",
    ["kind", "outcome"],
)


class EffectError(Exception):
    """The other side refused or could not be reached; `permanent` ones are not retried,
    the others not before `retry_after` seconds when the other side said so."""

    def __init__(
        self, reason: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Effect:
    id: int
    kind: str
    key: str  # the idempotency key of the call
    payload: dict[str, Any]
    attempts: int  # calls made before this one
    correlation_id: str | None
    causation_id: str | None
    trace: tracing.TraceHeaders | None = None  # the trace context that recorded it


@dataclass(frozen=True)
class Performer:
    """How one kind of effect is called and how its outcome is recorded.

    `call` runs outside any transaction and raises EffectError; `done` records its
    result in a unit; `failed` records a failure in a unit, told whether it is retried."""

    call: Callable[[Any, Effect], Awaitable[Any]]
    done: Callable[[Unit, Effect, Any], Awaitable[None]]
    failed: Callable[[Unit, Effect, str, bool], Awaitable[None]]


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 8
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 600.0
    lease_seconds: float = 30.0
    batch_size: int = 20
    poll_seconds: float = 60.0  # the longest sleep between passes: a safety net
    retry_seconds: float = 1.0  # the pause after a pass failed
    performers: Mapping[str, Performer] = field(default_factory=dict)

    def backoff(self, attempts: int, error: EffectError | None = None) -> timedelta:
        """The pause before the next call: the backoff, or longer when the other side asked."""
        pause = capped_backoff(attempts, self.backoff_seconds, self.backoff_max_seconds)
        if error is not None and error.retry_after is not None:
            return max(pause, timedelta(seconds=error.retry_after))
        return pause


async def record(unit: Unit, kind: str, key: str, payload: dict[str, Any]) -> bool:
    """Records the call to make after the unit commits; False when `key` is recorded already."""
    traceparent, tracestate = unit.trace or (None, None)
    inserted = await unit.conn.fetchval(
        """INSERT INTO effects (kind, key, payload, correlation_id, causation_id,
               next_attempt_at, created_at, updated_at, traceparent, tracestate)
           VALUES ($1, $2, $3::jsonb, $4, $5, $6, $6, $6, $7, $8)
           ON CONFLICT (kind, key) DO NOTHING RETURNING true""",
        kind,
        key,
        json.dumps(payload),
        unit.correlation_id,
        unit.causation_id,
        unit.now,
        traceparent,
        tracestate,
    )
    return bool(inserted)


async def recorded(conn: asyncpg.Connection, kind: str, key: str) -> bool:
    """Whether the call `kind`/`key` was recorded (it is made, or will be, whatever follows)."""
    found = await conn.fetchval("SELECT true FROM effects WHERE kind = $1 AND key = $2", kind, key)
    return bool(found)


def worker(chosen: Policy) -> Callable[[Service[Any]], Awaitable[None]]:
    """The background task that makes a service's recorded calls, with its performers.

    Between passes it sleeps until the next effect is due (a retry's backoff, a lease that
    ends), woken at once when an effect is recorded (the `effects` NOTIFY); `poll_seconds`
    is the longest it sleeps, a safety net, `retry_seconds` the pause after a failed pass."""

    async def run_effects(runtime: Service[Any]) -> None:
        async with db.woken_by(runtime.settings.database_url, "effects") as recorded:
            while True:
                recorded.clear()
                wait = chosen.retry_seconds
                try:
                    wait = await run_due(runtime, chosen)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # claimed effects come back when their lease ends
                    if db.is_transient(exc):
                        log.warning("effects pass failed; retrying", error=repr(exc))
                    else:
                        log.exception("effects pass failed unexpectedly; retrying")
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(recorded.wait(), wait)

    return run_effects


# Claims due effects and, in the same statement, finds when the next of the others is due:
# a retry's next attempt, or the end of a lease another worker holds (seconds from $2; at
# or below 0 when more are due now, beyond the batch).
_CLAIM = """
WITH claimed AS (
    UPDATE effects SET claimed_until = $2 + $3::interval WHERE id IN (
        SELECT id FROM effects WHERE status = 'pending' AND next_attempt_at <= $2
        AND kind = ANY($4::text[])
        AND (claimed_until IS NULL OR claimed_until < $2)
        ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING id, kind, key, payload, attempts, correlation_id, causation_id, traceparent,
        tracestate)
SELECT claimed.*, (
    SELECT extract(epoch FROM min(greatest(next_attempt_at, claimed_until)) - $2)::float8
    FROM effects WHERE status = 'pending' AND kind = ANY($4::text[])
    AND id <> ALL(ARRAY(SELECT id FROM claimed))) AS later
FROM (SELECT 1) AS one LEFT JOIN claimed ON true"""


async def run_due(runtime: Service[Any], policy: Policy) -> float:
    """One pass: claims due effects, calls them concurrently, records each outcome; returns
    the seconds until the next one is due (0: now), at most `policy.poll_seconds`."""
    now = datetime.now(UTC)
    async with runtime.db.acquire() as conn:
        rows = await conn.fetch(
            _CLAIM,
            policy.batch_size,
            now,
            timedelta(seconds=policy.lease_seconds),
            list(policy.performers),
        )
    effects = [_effect(row) for row in rows if row["id"] is not None]
    again = await asyncio.gather(*(_run_one(runtime, policy, effect) for effect in effects))
    later = rows[0]["later"]
    waits = [policy.poll_seconds, *(w for w in again if w is not None)]
    if later is not None:
        waits.append(later - (datetime.now(UTC) - now).total_seconds())
    return max(0.0, min(waits))


def _effect(row: asyncpg.Record) -> Effect:
    payload = row["payload"]
    return Effect(
        id=row["id"],
        kind=row["kind"],
        key=row["key"],
        payload=json.loads(payload) if isinstance(payload, str) else dict(payload),
        attempts=row["attempts"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
        trace=None if row["traceparent"] is None else (row["traceparent"], row["tracestate"]),
    )


async def _run_one(runtime: Service[Any], policy: Policy, effect: Effect) -> float | None:
    """Calls `effect` and records the outcome; the seconds until it is due again, if it is."""
    performer = policy.performers[effect.kind]
    with (
        structlog.contextvars.bound_contextvars(
            effect_kind=effect.kind, effect_key=effect.key, correlation_id=effect.correlation_id
        ),
        tracing.continuing(  # the call and its outcome's events, in the trace that recorded it
            runtime.name,
            f"effect {effect.kind}",
            effect.trace,
            {"fulfil.effect.kind": effect.kind, "fulfil.effect.attempt": effect.attempts + 1},
        ),
    ):
        result: Any = None
        error: EffectError | None = None
        try:
            result = await performer.call(runtime.deps, effect)
        except EffectError as exc:
            error = exc
        except Exception as exc:  # an adapter bug: retried, then recorded as failed
            log.exception("effect call raised unexpectedly")
            error = EffectError(f"adapter error: {exc!r}")
        outcome = await _record_within_lease(runtime, policy, performer, effect, result, error)
        if outcome is None:  # called again with the same key once the lease ends
            return policy.lease_seconds
        EFFECT_CALLS.labels(effect.kind, outcome).inc()
        attempts = effect.attempts + 1
        if error is None:
            log.info("effect made", attempts=attempts)
        else:
            log.warning("effect not made", outcome=outcome, attempts=attempts, error=error.reason)
        if outcome != "retry":
            return None
        return policy.backoff(attempts, error).total_seconds()


async def _record_within_lease(
    runtime: Service[Any],
    policy: Policy,
    performer: Performer,
    effect: Effect,
    result: Any,
    error: EffectError | None,
) -> str | None:
    """Records the outcome in hand; while the database is unreachable it tries again (the
    call was made: making it again after the lease would only delay the order by the lease),
    for as long as this worker's lease lasts. None when it could not: the effect is then
    called again, with the same key, once the lease ends."""
    given_up = time.monotonic() + policy.lease_seconds * 0.8
    attempts = 0
    while True:
        try:
            return await _record(runtime, policy, performer, effect, result, error)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            attempts += 1
            wait = capped_backoff(attempts, 0.2, RECORD_RETRY_MAX_SECONDS).total_seconds()
            if not db.is_transient(exc) or time.monotonic() + wait > given_up:
                log.exception("effect outcome not recorded; it will be retried")
                return None
            log.warning("effect outcome not recorded yet; retrying", error=repr(exc))
            await asyncio.sleep(wait)


async def _record(
    runtime: Service[Any],
    policy: Policy,
    performer: Performer,
    effect: Effect,
    result: Any,
    error: EffectError | None,
) -> str:
    """Done, failed for good or retried later, in one unit; "stale" when another worker
    recorded this effect meanwhile."""
    async with runtime.unit(
        correlation_id=effect.correlation_id, causation_id=effect.causation_id
    ) as unit:
        status = await unit.conn.fetchval(
            "SELECT status FROM effects WHERE id = $1 FOR UPDATE", effect.id
        )
        if status != "pending":
            return "stale"
        attempts = effect.attempts + 1
        if error is None:
            await performer.done(unit, effect, result)
            await _update(unit, effect.id, "done", attempts, None, None)
            return "done"
        if error.permanent or attempts >= policy.max_attempts:
            await performer.failed(unit, effect, error.reason, False)
            await _update(unit, effect.id, "failed", attempts, error.reason, None)
            return "failed"
        await performer.failed(unit, effect, error.reason, True)
        retry_at = unit.now + policy.backoff(attempts, error)
        await _update(unit, effect.id, "pending", attempts, error.reason, retry_at)
        return "retry"


async def _update(
    unit: Unit,
    effect_id: int,
    status: str,
    attempts: int,
    error: str | None,
    retry_at: datetime | None,
) -> None:
    await unit.conn.execute(
        """UPDATE effects SET status = $2, attempts = $3, last_error = $4,
               next_attempt_at = coalesce($5, next_attempt_at), claimed_until = NULL,
               updated_at = $6
           WHERE id = $1""",
        effect_id,
        status,
        attempts,
        error,
        retry_at,
        unit.now,
    )


def derived_id(prefix: str, *cause: str) -> str:
    """An id that a retry of the same cause derives again: `prefix` and a name-based UUID of
    what caused it (an event id, a request id, the record it acts on)."""
    return f"{prefix}_{uuid.uuid5(_NAMESPACE, ':'.join(cause)).hex[:20]}"


_NAMESPACE = uuid.UUID("6f1c8f4e-2a47-4c0b-9a55-0d3f3c1b7e21")
