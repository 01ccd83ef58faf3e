"""How a service stops: the one sequence every service runs on SIGTERM (or SIGINT).

1. Readiness goes false first (`/readyz` answers 503, reason `stopping`), so that a load
   balancer or a Kubernetes Service sends no new requests; for `drain_seconds` the service
   still answers what reaches it meanwhile (endpoints take a moment to hear of it).
2. The HTTP server stops accepting connections and finishes the requests in hand.
3. The consumers finish the batch in hand, commit its offsets and leave their groups, both
   at once: the service's own consumer (shared.kafka.agents.ServiceConsumer) and the faust
   app (its agents' batches acknowledged, then committed). A member with a static name
   (`<SVC>_CONSUMER_INSTANCE_ID`) sends no LeaveGroup (aiokafka's rule for static
   members): the broker keeps its partitions for it for the session timeout
   (shared.kafka.agents.SESSION_TIMEOUT_SECONDS), so that a restart under the same name
   takes them back without a rebalance, and a replica stopped for good hands them over
   when that time runs out. Without a static name the member leaves at once.
   Meanwhile the outbox relay ends its pass in hand: what it published is marked sent, so
   that the next leader publishes none of it again.
4. The background tasks (timers, effects workers, gauges...) are cancelled;
   each of them keeps its work in the database, so what one had in hand is taken up again
   (an outbox row not yet marked sent is sent again and the consumers' inboxes drop it).
   The kept-alive HTTP clients to outside parties (shared/http_client.py) close with the
   background task of the service that owns them.
5. The producer, the database pool and the tracer are closed.

Steps 1 to 4 share `grace_seconds` (`<SVC>_SHUTDOWN_GRACE_SECONDS`): past it what is left is
cancelled (a batch not finished is redelivered to the group's next member, whose inbox has
seen what was done of it) and the closing of step 5 still runs. The process then exits 0;
it exits 1 only when it stopped because a background task had died.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.logging import get_logger

log = get_logger(__name__)

CLOSE_SECONDS = 10.0  # step 5, beyond the grace: a broker or database that does not answer


@dataclass
class StopPlan:
    """What a running service is made of, in the order the sequence stops it."""

    mark_stopping: Callable[[], None]
    http_exit: Callable[[], None] | None = None
    http_task: asyncio.Task[Any] | None = None
    consumers: Sequence[Callable[[], Awaitable[None]]] = ()
    """Each finishes its batch in hand, commits and leaves its group (or, the outbox relay,
    ends its pass)."""
    background: Sequence[asyncio.Task[Any]] = ()
    closers: Sequence[Callable[[], Awaitable[None]]] = field(default_factory=list)


async def stop_service(plan: StopPlan, *, grace_seconds: float, drain_seconds: float) -> bool:
    """Runs the sequence; True if steps 1 to 4 ended within the grace period."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    plan.mark_stopping()
    within = True
    try:
        async with asyncio.timeout(grace_seconds):
            if plan.http_exit is not None:
                await asyncio.sleep(min(drain_seconds, grace_seconds))
                plan.http_exit()
                if plan.http_task is not None:
                    await asyncio.gather(plan.http_task, return_exceptions=True)
            if plan.consumers:
                await asyncio.gather(*(stop() for stop in plan.consumers))
    except TimeoutError:
        within = False
        log.warning("stop: grace period over; cancelling what is left", grace=grace_seconds)
    for task in plan.background:
        task.cancel()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CLOSE_SECONDS):
            await asyncio.gather(*plan.background, return_exceptions=True)
    for close in plan.closers:
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                await close()
        except Exception as exc:  # one that fails does not keep the others open
            log.warning("stop: closing failed", error=repr(exc))
    log.info("stop: done", seconds=round(loop.time() - started, 2), within_grace=within)
    return within
