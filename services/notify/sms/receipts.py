"""Delivery receipts into the message's delivery status, whichever provider sent them.

A receipt is applied once: a final status (delivered, failed) is never overwritten, and
an interim one (sent) never overwrites a final one that came first. A receipt for a
message we do not know (another system's, or one long gone) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg
from prometheus_client import Counter

DeliveryStatus = Literal["sent", "delivered", "failed"]
RECEIPTS = Counter(
    "fulfil_notify_sms_receipts_total",
    "SMS delivery receipts received from the providers",
    ["provider", "status"],
)


@dataclass(frozen=True)
class Receipt:
    message_id: str
    provider: str
    status: DeliveryStatus
    provider_message_id: str | None
    error: str | None
    reported_at: datetime


async def apply(conn: asyncpg.Connection, receipts: list[Receipt]) -> int:
    """Records the receipts in one statement; returns how many changed a message."""
    if not receipts:
        return 0
    for receipt in receipts:
        RECEIPTS.labels(receipt.provider, receipt.status).inc()
    result = await conn.execute(
        """UPDATE messages m SET delivery_status = r.status, delivery_error = r.error,
               delivery_reported_at = r.reported_at, provider = r.provider,
               provider_message_id = COALESCE(r.provider_message_id, m.provider_message_id)
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                       $6::timestamptz[])
                AS r(id, provider, status, provider_message_id, error, reported_at)
           WHERE m.id = r.id AND m.channel = 'sms'
             AND (m.delivery_status IS NULL
                  OR (m.delivery_status = 'sent' AND r.status <> 'sent'))""",
        [r.message_id for r in receipts],
        [r.provider for r in receipts],
        [r.status for r in receipts],
        [r.provider_message_id for r in receipts],
        [r.error for r in receipts],
        [r.reported_at for r in receipts],
    )
    return int(result.split()[-1])
