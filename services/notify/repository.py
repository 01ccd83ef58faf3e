"""SQL of the notify service: the only module that knows its tables."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from services.notify.domain import (
    NON_ESSENTIAL,
    REMINDER,
    NewMessage,
    OrderRecord,
    OrderState,
    Preferences,
)
from services.notify.optout import contact_key
from shared.contracts.events.order import OrderPlaced


async def add_order(
    conn: asyncpg.Connection, order_id: str, placed: OrderPlaced, placed_at: datetime, variant: str
) -> bool:
    """Records the order once; False when it was known already (a redelivery or replay)."""
    inserted = await conn.fetchval(
        """INSERT INTO orders (order_id, customer_id, placed, placed_at, payment_due_at, variant)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id) DO NOTHING RETURNING true""",
        order_id,
        placed.customer_id,
        placed.model_dump(mode="json"),
        placed_at,
        placed.payment_due_at,
        variant,
    )
    return bool(inserted)


async def load_order(conn: asyncpg.Connection, order_id: str) -> OrderRecord | None:
    row = await conn.fetchrow(
        "SELECT order_id, placed, placed_at, state, variant, reminders FROM orders"
        " WHERE order_id = $1",
        order_id,
    )
    if row is None:
        return None
    return OrderRecord(
        order_id=row["order_id"],
        placed=OrderPlaced.model_validate(row["placed"]),
        placed_at=row["placed_at"],
        state=row["state"],
        variant=row["variant"],
        reminders=row["reminders"],
    )


async def set_state(conn: asyncpg.Connection, order_id: str, state: str) -> None:
    await conn.execute("UPDATE orders SET state = $2 WHERE order_id = $1", order_id, state)


async def mark_paid(conn: asyncpg.Connection, order_id: str, paid_at: datetime) -> bool:
    """Records the payment; the order converts when a reminder had reached the customer."""
    return bool(
        await conn.fetchval(
            """UPDATE orders SET state = $3, paid_at = $2, converted = EXISTS (
                   SELECT 1 FROM messages WHERE order_id = $1 AND template = $4
                   AND status = 'sent')
               WHERE order_id = $1 RETURNING converted""",
            order_id,
            paid_at,
            OrderState.PAID,
            REMINDER,
        )
    )


async def count_reminder(conn: asyncpg.Connection, order_id: str) -> int:
    return int(
        await conn.fetchval(
            "UPDATE orders SET reminders = reminders + 1 WHERE order_id = $1 RETURNING reminders",
            order_id,
        )
    )


async def load_preferences(conn: asyncpg.Connection, customer_id: str | None) -> Preferences:
    if customer_id is None:
        return Preferences()
    row = await conn.fetchrow(
        "SELECT email, sms, marketing_opt_out FROM preferences WHERE customer_id = $1",
        customer_id,
    )
    return Preferences(**dict(row)) if row else Preferences()


async def preferences_row(conn: asyncpg.Connection, customer_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM preferences WHERE customer_id = $1", customer_id)


async def save_preferences(
    conn: asyncpg.Connection, customer_id: str, prefs: Preferences, now: datetime
) -> None:
    await conn.execute(
        """INSERT INTO preferences (customer_id, email, sms, marketing_opt_out, updated_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (customer_id) DO UPDATE SET
           email = EXCLUDED.email, sms = EXCLUDED.sms,
           marketing_opt_out = EXCLUDED.marketing_opt_out, updated_at = EXCLUDED.updated_at""",
        customer_id,
        prefs.email,
        prefs.sms,
        prefs.marketing_opt_out,
        now,
    )


async def add_message(conn: asyncpg.Connection, m: NewMessage) -> bool:
    """Records a message to send; False when this (event, template, channel) exists already."""
    inserted = await conn.fetchval(
        """INSERT INTO messages (id, order_id, source_event_id, source_type, template, channel,
           locale, recipient, subject, body_text, body_html, variant, correlation_id, send_after,
           status, skip_reason, unsubscribe_url)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
           ON CONFLICT (source_event_id, template, channel) DO NOTHING RETURNING true""",
        m.id,
        m.order_id,
        m.source_event_id,
        m.source_type,
        m.template,
        m.channel,
        m.locale,
        m.recipient,
        m.subject,
        m.body_text,
        m.body_html,
        m.variant,
        m.correlation_id,
        m.send_after,
        m.status,
        m.skip_reason,
        m.unsubscribe_url,
    )
    return bool(inserted)


async def cancel_pending(conn: asyncpg.Connection, order_id: str, template: str) -> int:
    result = await conn.execute(
        """UPDATE messages SET status = 'cancelled' WHERE order_id = $1 AND template = $2
           AND status = 'pending'""",
        order_id,
        template,
    )
    return int(result.split()[-1])


async def claim_due(
    conn: asyncpg.Connection, now: datetime, limit: int, lease: timedelta
) -> list[asyncpg.Record]:
    """Takes due messages for one sending pass; a lease keeps other senders off them."""
    return await conn.fetch(
        """UPDATE messages SET claimed_until = $2 + $3::interval WHERE id IN (
               SELECT id FROM messages WHERE status = 'pending' AND send_after <= $2
               AND (claimed_until IS NULL OR claimed_until < $2)
               ORDER BY send_after, seq LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING *""",
        limit,
        now,
        lease,
    )


async def next_due(conn: asyncpg.Connection) -> datetime | None:
    """When the soonest pending message nobody holds falls due; None when there is none."""
    return await conn.fetchval(
        """SELECT send_after FROM messages WHERE status = 'pending' AND claimed_until IS NULL
           ORDER BY send_after LIMIT 1"""
    )


async def mark_sent(conn: asyncpg.Connection, message_id: str, now: datetime) -> bool:
    """Records a delivery (also of a message cancelled while it was on its way: it went);
    False when another sender recorded it first."""
    return bool(
        await conn.fetchval(
            """UPDATE messages SET status = 'sent', sent_at = $2, attempts = attempts + 1,
               claimed_until = NULL WHERE id = $1 AND status IN ('pending', 'cancelled')
               RETURNING true""",
            message_id,
            now,
        )
    )


async def mark_retry(
    conn: asyncpg.Connection, message_id: str, error: str, retry_at: datetime
) -> None:
    await conn.execute(
        """UPDATE messages SET attempts = attempts + 1, last_error = $2, send_after = $3,
           claimed_until = NULL WHERE id = $1 AND status = 'pending'""",
        message_id,
        error,
        retry_at,
    )


async def mark_failed(conn: asyncpg.Connection, message_id: str, error: str, now: datetime) -> bool:
    return bool(
        await conn.fetchval(
            """UPDATE messages SET status = 'failed', attempts = attempts + 1, last_error = $2,
               failed_at = $3, claimed_until = NULL WHERE id = $1 AND status = 'pending'
               RETURNING true""",
            message_id,
            error,
            now,
        )
    )


async def order_known(conn: asyncpg.Connection, order_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM orders WHERE order_id = $1)"
            " OR EXISTS (SELECT 1 FROM messages WHERE order_id = $1)",
            order_id,
        )
    )


async def messages_for(conn: asyncpg.Connection, order_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, template, channel, locale, recipient, subject, status, variant,
           source_event_id, source_type, attempts, last_error, skip_reason, created_at,
           send_after, sent_at, failed_at FROM messages WHERE order_id = $1 ORDER BY seq""",
        order_id,
    )


async def reminder_stats(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Per wording variant: orders that got a reminder, reminders sent, orders that then paid."""
    return await conn.fetch(
        """SELECT m.variant,
                  count(DISTINCT m.order_id) AS orders_reminded,
                  count(DISTINCT m.source_event_id) AS reminders_sent,
                  count(DISTINCT m.order_id) FILTER (WHERE o.converted) AS converted
           FROM messages m JOIN orders o ON o.order_id = m.order_id
           WHERE m.template = $1 AND m.status = 'sent'
           GROUP BY m.variant ORDER BY m.variant""",
        REMINDER,
    )


async def opted_out_keys(conn: asyncpg.Connection, keys: list[str]) -> set[str]:
    """Which of these contact keys (optout.contact_key) opted out."""
    rows = await conn.fetch(
        "SELECT contact_key FROM contact_opt_outs WHERE contact_key = ANY($1::text[])", keys
    )
    return {r["contact_key"] for r in rows}


async def opt_out_contact(
    conn: asyncpg.Connection, channel: str, contact: str, source: str, now: datetime
) -> int:
    """Records the contact's opt-out (once) and skips its non-essential messages still pending;
    returns how many were skipped. One being delivered right now (claimed) is left to go."""
    key = contact_key(channel, contact)
    await conn.execute(
        """INSERT INTO contact_opt_outs (contact_key, channel, source, opted_out_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT (contact_key) DO NOTHING""",
        key,
        channel,
        source,
        now,
    )
    pending = await conn.fetch(
        """SELECT id, recipient FROM messages WHERE status = 'pending' AND channel = $1
           AND template = ANY($2::text[]) AND (claimed_until IS NULL OR claimed_until < $3)
           FOR UPDATE SKIP LOCKED""",
        channel,
        sorted(NON_ESSENTIAL),
        now,
    )
    ids = [r["id"] for r in pending if contact_key(channel, r["recipient"]) == key]
    await conn.execute(
        """UPDATE messages SET status = 'skipped', skip_reason = 'contact_opted_out',
           claimed_until = NULL WHERE id = ANY($1::text[]) AND status = 'pending'""",
        ids,
    )
    return len(ids)
