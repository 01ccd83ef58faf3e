"""The notify service's steps: what runs inside a unit of work, for handlers, timers, views
and the sender.

A step loads (repository), asks the domain what happens (an `Outcome`), and saves it
once (`record`): the order's state, its reminders, and the messages that tell the
customer, rendered per channel and recorded for the sender to deliver after commit.
Nothing here talks to a channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from services.notify import content, domain, metrics, optout, repository
from services.notify.channels import ChannelError
from services.notify.deps import Deps
from services.notify.domain import REMINDER, NewMessage, OrderRecord, Outcome, Source
from shared import held
from shared.logging import get_logger, mask_text
from shared.messages import Incoming
from shared.timers import Timer
from shared.unit import Unit

log = get_logger(__name__)


def source_of(msg: Incoming[Any]) -> Source:
    e = msg.envelope
    return Source(str(e.event_id), e.type, e.correlation_id, msg.payload)


def new_message_id() -> str:
    return f"ntf_{uuid.uuid4().hex}"


def zone_of(deps: Deps, order: OrderRecord) -> ZoneInfo:
    return domain.zone(order.placed.time_zone, deps.settings.default_time_zone)


async def introduce(unit: Unit[Deps], msg: Incoming[Any]) -> bool:
    """Records a newly placed order, confirms it and plans its first reminder; False (and
    nothing done) when the order was known already (a redelivery or a replay)."""
    settings = unit.deps.settings
    await held.lock(unit.conn, msg.order_id)
    variant = domain.variant_for(msg.order_id, settings.reminder_variants)
    placed_at = msg.envelope.occurred_at
    found = await repository.add_order(unit.conn, msg.order_id, msg.payload, placed_at, variant)
    if found is None:
        return False
    outcome = domain.placed(found, unit.deps.schedule, unit.now)
    await record(unit, found, outcome, source_of(msg))
    return True


async def react(
    unit: Unit[Deps], msg: Incoming[Any], decide: Callable[[OrderRecord], Outcome]
) -> None:
    """Applies what the event does to its order; while the order is unknown the event is
    held (shared.held) and handled once its OrderPlaced arrives."""
    found = await held.known_or_held(unit, msg, repository.lock_order)
    if found is not None:
        await record(unit, found, decide(found), source_of(msg))


ORDER_WIDE = ""  # the claims of checkpoint_messages that name no one parcel


async def tell_once(unit: Unit[Deps], msg: Incoming[Any], template: str, occasion: str) -> None:
    """Tells `template` once per order and `occasion`, however many of the order's parcels,
    event ids or redeliveries carry it (a claim in checkpoint_messages under no parcel)."""
    found = await held.known_or_held(unit, msg, repository.lock_order)
    if found is None:
        return
    source = source_of(msg)
    kind = f"{template}:{occasion}"
    conn, order_id = unit.conn, found.order_id
    if not await repository.claim_checkpoint(conn, order_id, ORDER_WIDE, kind, source.id, unit.now):
        log.debug("told the order already", template=template, occasion=occasion)
        return
    await record(unit, found, domain.told(template), source)


async def tell_checkpoint(unit: Unit[Deps], msg: Incoming[Any], step: str) -> None:
    """A parcel's step (domain.CHECKPOINT_STEPS): told once per parcel, whatever event ids,
    redeliveries or late arrivals carry it; a later step drops the earlier ones still
    waiting for the morning."""
    found = await held.known_or_held(unit, msg, repository.lock_order)
    if found is None:
        return
    shipment_id = msg.payload.shipment_id
    told = await repository.checkpoints_told(unit.conn, found.order_id, shipment_id)
    outcome = domain.checkpoint(step, told)
    if outcome.tell is None:
        log.debug("parcel step told already", step=step, shipment_id=shipment_id)
        return
    source = source_of(msg)
    conn, order_id = unit.conn, found.order_id
    await repository.claim_checkpoint(conn, order_id, shipment_id, step, source.id, unit.now)
    stale = domain.silenced_by(step)
    await repository.cancel_stale_checkpoints(conn, order_id, shipment_id, stale, unit.now)
    await record(unit, found, outcome, source)


async def remind(unit: Unit[Deps], timer: Timer) -> None:
    """A planned reminder fell due: send it, move it to the morning, or let it go."""
    deps = unit.deps
    order_id = timer.payload["order_id"]
    await held.lock(unit.conn, order_id)
    found = await repository.load_order(unit.conn, order_id)
    if found is None or found.placed.payment_due_at is None:
        return
    prefs = await repository.load_preferences(unit.conn, found.placed.customer_id)
    decision = domain.reminder_decision(
        now=unit.now,
        due_at=found.placed.payment_due_at,
        state=found.state,
        opted_out=prefs.marketing_opt_out,
        tz=zone_of(deps, found),
        quiet=deps.quiet,
    )
    if decision.rearm_at is not None and not timer.key.endswith(":morning"):
        await unit.schedule(REMINDER, f"{timer.key}:morning", decision.rearm_at, timer.payload)
        return
    if not decision.send:
        return
    number = await repository.count_reminder(unit.conn, found.order_id)
    source = Source(
        f"reminder:{found.order_id}:{number}",
        "PaymentReminderDue",
        None,
        {"variant": found.variant, "number": number},
        variant=found.variant,
    )
    outcome = Outcome(tell=REMINDER, next_reminder=deps.schedule.next_for(found, number, unit.now))
    await record(unit, found, outcome, source)
    unit.after_commit(metrics.REMINDERS_SENT.labels(found.variant).inc)


async def record(unit: Unit[Deps], order: OrderRecord, outcome: Outcome, source: Source) -> None:
    """Saves what was decided, once: state, stopped reminders, messages, the next reminder."""
    if outcome.paid_at is not None:
        converted = await repository.mark_paid(unit.conn, order.order_id, outcome.paid_at)
        if converted and order.state != domain.OrderState.PAID:  # a second report: no conversion
            unit.after_commit(metrics.REMINDER_CONVERSIONS.labels(order.variant).inc)
        log.debug("order paid", variant=order.variant, converted_by_reminder=converted)
    elif outcome.state is not None:
        await repository.set_state(unit.conn, order.order_id, outcome.state)
    if outcome.stop_reminders:
        await repository.cancel_timers(unit.conn, REMINDER, reminder_keys(unit.deps, order))
        await repository.cancel_pending(unit.conn, order.order_id, REMINDER)
    if outcome.tell is not None:
        await tell(unit, order, outcome.tell, source)
    if (due := outcome.next_reminder) is not None:
        payload = {"order_id": order.order_id, "number": due.number}
        await unit.schedule(REMINDER, f"{order.order_id}:{due.number}", due.at, payload)


def reminder_keys(deps: Deps, order: OrderRecord) -> list[str]:
    """The keys of every reminder timer the order can have (each one's morning re-arm too)."""
    numbers = range(1, deps.settings.reminder_max + 1)
    return [f"{order.order_id}:{n}{later}" for n in numbers for later in ("", ":morning")]


async def tell(unit: Unit[Deps], order: OrderRecord, template: str, source: Source) -> int:
    """Records `template` for every channel this customer gets; returns how many were new
    (zero for a redelivered or replayed event: the messages exist already)."""
    deps = unit.deps
    placed = order.placed
    contact = placed.contact
    details = {"email": contact.email, "sms": contact.phone}
    keys = {c: optout.contact_key(c, r) for c, r in details.items() if r}
    prefs, opted_out = await repository.audience(unit.conn, placed.customer_id, [*keys.values()])
    channels = domain.channels_for(template, contact, prefs)
    if not channels:
        log.debug("customer gets no message on any channel", template=template)
        return 0
    tz = zone_of(deps, order)
    values = content.context(
        template,
        order.order_id,
        placed,
        source.event,
        shop_name=deps.settings.shop_name,
        tz=tz,
        order_url=deps.settings.order_page_link(order.order_id),
    )
    send_after = domain.send_after(template, unit.now, tz, deps.quiet)
    locale = placed.locale.value
    recipients = {
        c: placed.contact.email if c == "email" else placed.contact.phone for c in channels
    }
    messages = []
    for channel, recipient in recipients.items():
        assert recipient is not None
        reason = optout.skip_reason(template, keys[channel] in opted_out)
        unsubscribe = None
        if channel == "email" and template in domain.NON_ESSENTIAL:
            unsubscribe = optout.unsubscribe_link(deps.settings, recipient, locale, unit.now)
        rendered = deps.templates.render(
            template, locale, channel, {**values, "unsubscribe_url": unsubscribe}
        )
        messages.append(
            NewMessage(
                id=new_message_id(),
                order_id=order.order_id,
                source_event_id=source.id,
                source_type=source.type,
                template=template,
                channel=channel,
                locale=locale,
                recipient=recipient,
                subject=rendered.subject,
                body_text=rendered.text,
                body_html=rendered.html,
                variant=source.variant,
                correlation_id=source.correlation_id,
                send_after=send_after,
                status="skipped" if reason else "pending",
                skip_reason=reason,
                unsubscribe_url=unsubscribe,
            )
        )
    created = await repository.add_messages(unit.conn, messages)
    for m in messages:
        if m.skip_reason:
            log.debug("message skipped", template=template, channel=m.channel, reason=m.skip_reason)
    log.debug(
        "messages recorded",
        template=template,
        channels=channels,
        created=len(created),
        held_until=send_after.isoformat() if send_after > unit.now else None,
    )
    return len(created)


async def save_preferences(
    unit: Unit[Deps], customer_id: str, prefs: domain.Preferences
) -> asyncpg.Record | None:
    await repository.save_preferences(unit.conn, customer_id, prefs, unit.now)
    return await repository.preferences_row(unit.conn, customer_id)


async def opt_out(unit: Unit[Deps], channel: str, contact: str, source: str) -> int:
    """Opts a contact out of non-essential messages; how many pending ones it skipped."""
    skipped = await repository.opt_out_contact(unit.conn, channel, contact, source, unit.now)
    log.info("contact opted out", channel=channel, source=source, skipped=skipped)
    return skipped


def backoff(deps: Deps, attempts: int) -> timedelta:
    s = deps.settings
    seconds = s.sender_backoff_seconds * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(s.sender_backoff_max_seconds, seconds))


async def record_deliveries(
    units: list[Unit[Deps]], results: list[tuple[dict[str, Any], ChannelError | None]]
) -> list[str]:
    """record_delivery for a pass, each outcome in its own unit (all in one transaction);
    the deliveries are marked sent in one statement."""
    assert units and len(units) == len(results)
    delivered = [row["id"] for row, error in results if error is None]
    first = units[0]
    marked = await repository.mark_sent_many(first.conn, delivered, first.now)
    outcomes = []
    for unit, (row, error) in zip(units, results, strict=True):
        if error is None:
            if row["id"] in marked and row["order_id"] is not None:
                await unit.emit(domain.sent_event(row), order_id=row["order_id"])
                unit.after_commit(_counted(row, "sent"))
            outcomes.append("sent")
        else:
            outcomes.append(await record_delivery(unit, row, error))
    return outcomes


async def record_delivery(unit: Unit[Deps], row: dict[str, Any], error: ChannelError | None) -> str:
    """Sent, failed for good, or to be retried later: written in `unit`; returns which."""
    attempts = row["attempts"] + 1
    if error is None:
        if await repository.mark_sent(unit.conn, row["id"], unit.now) and row["order_id"]:
            await unit.emit(domain.sent_event(row), order_id=row["order_id"])
            unit.after_commit(_counted(row, "sent"))
        return "sent"
    if error.permanent or attempts >= unit.deps.settings.sender_max_attempts:
        reason = mask_text(str(error))
        if await repository.mark_failed(unit.conn, row["id"], reason, unit.now):
            if row["order_id"] is None:  # operations mail: no customer event, a log line
                log.error("operations mail failed for good", template=row["template"])
            else:
                await unit.emit(domain.failed_event(row, reason), order_id=row["order_id"])
            unit.after_commit(_counted(row, "failed"))
        return "failed"
    wait = backoff(unit.deps, attempts)
    if error.retry_after is not None:  # the provider said when (HTTP 429 Retry-After)
        wait = max(wait, timedelta(seconds=error.retry_after))
    retry_at = unit.now + wait
    await repository.mark_retry(unit.conn, row["id"], mask_text(str(error)), retry_at)
    return "retry"


def _counted(row: dict[str, Any], outcome: str) -> Callable[[], None]:
    return metrics.MESSAGES.labels(row["template"], row["channel"], outcome).inc
