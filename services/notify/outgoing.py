"""Turning a decision to tell the customer into recorded messages, one per channel.

Handlers call `tell`; it renders the template for each channel the customer
gets and records the messages in the handler's transaction. The sender loop
delivers them later, so nothing here talks to a channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.notify import content, domain, optout, repository
from services.notify.channels import Channel
from services.notify.repository import NewMessage, OrderRecord
from services.notify.settings import NotifySettings
from services.notify.templates import Templates
from shared.contracts.envelope import Event
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)


@dataclass
class NotifyDeps:
    settings: NotifySettings
    templates: Templates
    channels: Mapping[str, Channel]

    @property
    def quiet(self) -> domain.QuietHours:
        return domain.QuietHours(self.settings.quiet_hours_start, self.settings.quiet_hours_end)

    @property
    def schedule(self) -> domain.ReminderSchedule:
        s = self.settings
        return domain.ReminderSchedule(
            offsets_seconds=s.reminder_offsets_seconds,
            before_close_seconds=s.reminder_before_close_seconds,
            min_gap_seconds=s.reminder_min_gap_seconds,
            max_count=s.reminder_max,
        )

    def zone(self, order: OrderRecord) -> Any:
        return domain.zone(order.placed.time_zone, self.settings.default_time_zone)

    def unsubscribe_url(self, email: str, locale: str, now: datetime) -> str:
        secret = self.settings.unsubscribe_secret.get_secret_value()
        token = optout.make_token(secret, "email", email, locale, now)
        return optout.unsubscribe_url(self.settings.base_url, token)


@dataclass(frozen=True)
class Source:
    """What a message answers: the event (or reminder) that caused it."""

    id: str
    type: str
    correlation_id: str | None


def new_message_id() -> str:
    return f"ntf_{uuid.uuid4().hex}"


async def tell(
    unit: Unit,
    order: OrderRecord,
    template: str,
    source: Source,
    event: Event | dict[str, Any] | None,
    *,
    variant: str | None = None,
) -> int:
    """Records `template` for every channel this customer gets; returns how many were new
    (zero for a redelivered or replayed event: the messages exist already)."""
    deps: NotifyDeps = unit.deps
    placed = order.placed
    prefs = await repository.load_preferences(unit.conn, placed.customer_id)
    channels = domain.channels_for(template, placed.contact, prefs)
    if not channels:
        log.info("customer gets no message on any channel", template=template)
        return 0
    tz = deps.zone(order)
    values = content.context(
        template, order.order_id, placed, event, shop_name=deps.settings.shop_name, tz=tz
    )
    send_after = domain.send_after(template, unit.now, tz, deps.quiet)
    locale = placed.locale.value
    recipients = {
        c: placed.contact.email if c == "email" else placed.contact.phone for c in channels
    }
    opted_out = await repository.opted_out_keys(
        unit.conn, [domain.contact_key(c, r) for c, r in recipients.items() if r]
    )
    created = 0
    for channel, recipient in recipients.items():
        assert recipient is not None
        reason = domain.skip_reason(template, domain.contact_key(channel, recipient) in opted_out)
        unsubscribe = None
        if channel == "email" and template in domain.NON_ESSENTIAL:
            unsubscribe = deps.unsubscribe_url(recipient, locale, unit.now)
        rendered = deps.templates.render(
            template, locale, channel, {**values, "unsubscribe_url": unsubscribe}
        )
        created += await repository.add_message(
            unit.conn,
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
                variant=variant,
                correlation_id=source.correlation_id,
                send_after=send_after,
                status="skipped" if reason else "pending",
                skip_reason=reason,
                unsubscribe_url=unsubscribe,
            ),
        )
        if reason:
            log.info("message skipped", template=template, channel=channel, reason=reason)
    log.info(
        "messages recorded",
        template=template,
        channels=channels,
        created=created,
        held_until=send_after.isoformat() if send_after > unit.now else None,
    )
    return created
