"""Ending a service's transaction as a crash would: its message processor driven directly,
with one handler swapped for one that fails, or that dies after its work, before the commit."""

from __future__ import annotations

from typing import Any

from shared.consumer import MessageProcessor
from shared.messages import Handler, Handlers, Incoming
from shared.runtime import Runtime
from shared.unit import Unit


async def fails(unit: Unit[Any], msg: Incoming[Any]) -> None:
    raise ValueError("this message cannot be handled")


def dies_before_commit(handler: Handler, killed: list[str]) -> Handler:
    """`handler`, after which the process dies before the commit, the first time only; the
    id of the message it killed goes to `killed`."""

    async def handle(unit: Unit[Any], msg: Incoming[Any]) -> None:
        await handler(unit, msg)
        if not killed:
            killed.append(str(msg.envelope.event_id))
            raise ConnectionResetError("the database connection was lost")

    return handle


def processor(
    runtime: Runtime[Any], swapped: Handlers | None = None, **options: Any
) -> MessageProcessor:
    """The service's own processor, on its database and dependencies, with the handlers of
    `swapped` in place of its own."""
    definition = runtime.definition
    handlers = {**definition.handlers, **(swapped or {})}
    return MessageProcessor(definition.name, runtime.db, handlers, runtime.units, **options)
