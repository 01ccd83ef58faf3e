"""Setting a message aside: what the consumer does with poison, in one transaction.

The message's inbox entry (outcome `dead_lettered`, so a redelivery is a duplicate), its
record on the service's dead-letter topic (written through the outbox, with the original
bytes and headers and `dlq.*` headers saying why), and its row in `dead_letters`, which
keeps the bytes for a replay (shared/dead_letters.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

import asyncpg

from shared import inbox, outbox
from shared.contracts.registry import dead_letter_topic


class Message(Protocol):
    """What is set aside: a record as it was read (shared.messages.RawMessage)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> tuple[tuple[str, bytes], ...]: ...


async def set_aside(
    conn: asyncpg.Connection,
    service: str,
    message: Message,
    *,
    message_id: str,
    event_type: str | None,
    reason: str,
    detail: str,
    attempts: int,
) -> bool:
    """Records `message` as dead-lettered by `service`, in the caller's transaction; False
    when the inbox had already seen it (nothing is written then)."""
    fresh = await inbox.record(
        conn,
        message_id,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        event_type=event_type,
        outcome="dead_lettered",
    )
    if not fresh:
        return False
    why = headers(service, message, reason=reason, detail=detail, attempts=attempts)
    await outbox.add_raw(
        conn,
        topic=dead_letter_topic(service).name,
        key=message.key,
        value=message.value or b"",
        headers=[*message.headers, *why],
        event_id=message_id,
        event_type=event_type,
    )
    await conn.execute(
        """INSERT INTO dead_letters (message_id, topic, partition, "offset", event_type,
           reason, error, attempts, key, value, header_names, header_values)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        message_id,
        message.topic,
        message.partition,
        message.offset,
        event_type,
        reason,
        detail,
        attempts,
        message.key,
        message.value,
        [name for name, _ in message.headers],
        [value for _, value in message.headers],
    )
    return True


def headers(
    service: str, message: Message, *, reason: str, detail: str, attempts: int
) -> list[tuple[str, bytes]]:
    """The `dlq.*` headers of a dead letter: why, by whom, after how many attempts, and
    where the original was."""
    info = {
        "dlq.reason": reason,
        "dlq.error": detail[:2000],
        "dlq.consumer": service,
        "dlq.attempts": str(attempts),
        "dlq.original_topic": message.topic,
        "dlq.original_partition": str(message.partition),
        "dlq.original_offset": str(message.offset),
        "dlq.failed_at": datetime.now(UTC).isoformat(),
    }
    return [(name, value.encode()) for name, value in info.items()]
