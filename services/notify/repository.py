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
) -> OrderRecord | None:
    """Records the order once and returns it as recorded (no second read); None when it was
    known already (a redelivery or replay)."""
    row = await conn.fetchrow(
        """INSERT INTO orders (order_id, customer_id, placed, placed_at, payment_due_at, variant)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id) DO NOTHING
           RETURNING placed_at, state, reminders""",
        order_id,
        placed.customer_id,
        placed.model_dump(mode="json"),
        placed_at,
        placed.payment_due_at,
        variant,
    )
    if row is None:
        return None
    return OrderRecord(
        order_id, placed, row["placed_at"], row["state"], variant, row["reminders"]
    )  # fmt: skip


_ORDER = "SELECT order_id, placed, placed_at, state, variant, reminders FROM orders"


async def load_order(conn: asyncpg.Connection, order_id: str) -> OrderRecord | None:
    return _order(await conn.fetchrow(f"{_ORDER} WHERE order_id = $1", order_id))


async def lock_order(conn: asyncpg.Connection, order_id: str) -> OrderRecord | None:
    """The order, its row locked until the transaction ends: two events of one order
    handled at once (read from two topics) decide one after the other."""
    return _order(await conn.fetchrow(f"{_ORDER} WHERE order_id = $1 FOR UPDATE", order_id))


def _order(row: asyncpg.Record | None) -> OrderRecord | None:
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


async def audience(
    conn: asyncpg.Connection, customer_id: str | None, contact_keys: list[str]
) -> tuple[Preferences, set[str]]:
    """In one round trip: the customer's preferences, and which of these contact keys
    (optout.contact_key) opted out."""
    row = await conn.fetchrow(
        """SELECT p.email, p.sms, p.marketing_opt_out, ARRAY(
               SELECT contact_key FROM contact_opt_outs WHERE contact_key = ANY($2::text[])
           ) AS opted_out
           FROM (SELECT 1) AS one LEFT JOIN preferences p ON p.customer_id = $1""",
        customer_id,
        contact_keys,
    )
    assert row is not None
    prefs = Preferences() if row["email"] is None else Preferences(
        email=row["email"], sms=row["sms"], marketing_opt_out=row["marketing_opt_out"]
    )  # fmt: skip
    return prefs, set(row["opted_out"])


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


_MESSAGE_COLUMNS = (
    "id", "order_id", "source_event_id", "source_type", "template", "channel", "locale",
    "recipient", "subject", "body_text", "body_html", "variant", "correlation_id",
    "send_after", "status", "skip_reason", "unsubscribe_url",
)  # fmt: skip


async def add_messages(conn: asyncpg.Connection, messages: list[NewMessage]) -> set[str]:
    """Records messages to send, in one statement; the ids of those that are new (one
    whose (event, template, channel) exists already is not recorded again)."""
    if not messages:
        return set()
    columns = [[getattr(m, c) for m in messages] for c in _MESSAGE_COLUMNS]
    rows = await conn.fetch(
        """INSERT INTO messages (id, order_id, source_event_id, source_type, template, channel,
           locale, recipient, subject, body_text, body_html, variant, correlation_id, send_after,
           status, skip_reason, unsubscribe_url)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
               $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
               $12::text[], $13::text[], $14::timestamptz[], $15::text[], $16::text[],
               $17::text[])
           ON CONFLICT (source_event_id, template, channel) DO NOTHING RETURNING id""",
        *columns,
    )
    return {r["id"] for r in rows}


async def cancel_pending(conn: asyncpg.Connection, order_id: str, template: str) -> int:
    result = await conn.execute(
        """UPDATE messages SET status = 'cancelled' WHERE order_id = $1 AND template = $2
           AND status = 'pending'""",
        order_id,
        template,
    )
    return int(result.split()[-1])


async def checkpoints_told(conn: asyncpg.Connection, order_id: str, shipment_id: str) -> set[str]:
    """The parcel's steps its customer was told of (read under the order's lock)."""
    rows = await conn.fetch(
        "SELECT kind FROM checkpoint_messages WHERE order_id = $1 AND shipment_id = $2",
        order_id,
        shipment_id,
    )
    return {row["kind"] for row in rows}


async def claim_checkpoint(
    conn: asyncpg.Connection, order_id: str, shipment_id: str, kind: str, source: str, now: datetime
) -> bool:
    """Records that the parcel's step `kind` is told (by event `source`); False if it was."""
    claimed = await conn.fetchval(
        """INSERT INTO checkpoint_messages (order_id, shipment_id, kind, source_event_id, told_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING kind""",
        order_id, shipment_id, kind, source, now,
    )  # fmt: skip
    return claimed is not None


async def cancel_stale_checkpoints(
    conn: asyncpg.Connection, order_id: str, shipment_id: str, kinds: list[str], now: datetime
) -> int:
    """Cancels the parcel's messages of steps `kinds` still waiting for the morning: a later
    step overtook them (delivered at night after going out in the evening). Those due now
    go as recorded."""
    result = await conn.execute(
        """UPDATE messages SET status = 'cancelled' WHERE status = 'pending' AND order_id = $1
           AND template = ANY($3::text[]) AND send_after > $4 AND source_event_id IN (
               SELECT source_event_id FROM checkpoint_messages
               WHERE order_id = $1 AND shipment_id = $2 AND kind = ANY($3::text[]))""",
        order_id, shipment_id, kinds, now,
    )  # fmt: skip
    return int(result.split()[-1])


async def cancel_timers(conn: asyncpg.Connection, kind: str, keys: list[str]) -> int:
    """Cancels the pending timers `kind`/`keys` in one statement, as shared.timers.cancel
    does one by one (a timer firing right now is left to fire: see there); how many."""
    result = await conn.execute(
        """UPDATE timers SET state = 'cancelled' WHERE id IN (
               SELECT id FROM timers WHERE kind = $1 AND key = ANY($2::text[])
               AND state = 'pending' FOR UPDATE SKIP LOCKED)""",
        kind,
        keys,
    )
    return int(result.split()[-1])


async def claim_due(
    conn: asyncpg.Connection, now: datetime, limit: int, lease: timedelta
) -> list[asyncpg.Record]:
    """Takes due messages for one sending pass; a lease keeps other senders off them. The
    claim is counted (committed before any call): a message claimed more often than it has
    recorded outcomes may have reached its provider already."""
    return await conn.fetch(
        """UPDATE messages SET claimed_until = $2 + $3::interval, claims = claims + 1
           WHERE id IN (
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


async def mark_sent_many(conn: asyncpg.Connection, ids: list[str], now: datetime) -> set[str]:
    """mark_sent for a pass's deliveries, in one statement: the ids recorded here."""
    if not ids:
        return set()
    rows = await conn.fetch(
        """UPDATE messages SET status = 'sent', sent_at = $2, attempts = attempts + 1,
           claimed_until = NULL WHERE id = ANY($1::text[]) AND status IN ('pending', 'cancelled')
           RETURNING id""",
        ids,
        now,
    )
    return {r["id"] for r in rows}


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
           send_after, sent_at, failed_at, delivery_status, delivery_error, provider,
           delivery_reported_at FROM messages WHERE order_id = $1 ORDER BY seq""",
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


async def open_stock_episode(
    conn: asyncpg.Connection, sku: str, at: datetime, event_id: str, quiet: timedelta
) -> bool:
    """Whether a low-stock warning of `sku` at `at` is news to operations: True (and noted
    as the SKU's last mail) when the SKU was never mailed about or its last mail is at
    least `quiet` older; False for the same shortage warned again within it."""
    return bool(
        await conn.fetchval(
            """INSERT INTO stock_warnings (sku, mailed_at, source_event_id) VALUES ($1, $2, $3)
               ON CONFLICT (sku) DO UPDATE SET mailed_at = EXCLUDED.mailed_at,
                   source_event_id = EXCLUDED.source_event_id
               WHERE stock_warnings.mailed_at <= EXCLUDED.mailed_at - $4::interval
               RETURNING true""",
            sku,
            at,
            event_id,
            quiet,
        )
    )
