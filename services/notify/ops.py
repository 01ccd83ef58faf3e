"""Messages to the shop's operations staff: a SKU fell under its low-stock threshold.

Logistics publishes StockRanLow on `stock.v1` once each time a SKU's stock falls under its
threshold (nothing marks the restock), so notify coalesces per SKU: the first warning
mails `NOTIFY_OPS_EMAIL`, and warnings of the same SKU within `ops_stock_quiet_seconds`
of that mail (the same shortage again) mail nothing; a warning older than
`ops_stock_max_age_seconds` when read (a first start reading the topic's two weeks) is
history and mails nothing either. The mail goes the customers'
messages' way: recorded here in the handler's transaction, under an id derived from the
event (a redelivered or replayed event records nothing new), and delivered by the sender
after commit. Staff mail is not opted out of and ignores quiet hours. Without an
operations address the warnings are consumed and ignored.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING

from services.notify import content, domain, repository
from services.notify.deps import Deps
from services.notify.domain import NewMessage
from shared.contracts.events.logistics import StockRanLow
from shared.logging import get_logger
from shared.messages import Incoming
from shared.unit import Unit

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = get_logger(__name__)
STOCK_RAN_LOW = "stock_ran_low"


def message_id(event_id: str, template: str) -> str:
    """The message's id, the channel's idempotency key: the same for the same event."""
    digest = hashlib.sha256(f"{event_id}:{template}:email".encode()).hexdigest()
    return f"ntf_{digest[:32]}"


async def stock_ran_low(unit: Unit[Deps], msg: Incoming[StockRanLow]) -> None:
    """One mail to operations per SKU per warning episode."""
    settings = unit.deps.settings
    recipient = settings.ops_email
    if recipient is None:
        return
    warning, envelope = msg.payload, msg.envelope
    event_id = str(envelope.event_id)
    if unit.now - envelope.occurred_at > timedelta(seconds=settings.ops_stock_max_age_seconds):
        log.info("low-stock warning too old to mail", sku=warning.sku)
        return
    quiet = timedelta(seconds=settings.ops_stock_quiet_seconds)
    if not await repository.open_stock_episode(
        unit.conn, warning.sku, envelope.occurred_at, event_id, quiet
    ):
        log.debug("low stock warned again within the quiet period", sku=warning.sku)
        return
    locale = settings.ops_locale
    values = content.stock_context(
        warning,
        at=envelope.occurred_at,
        quiet_seconds=settings.ops_stock_quiet_seconds,
        shop_name=settings.shop_name,
        locale=locale,
        tz=domain.zone(settings.default_time_zone, "UTC"),
    )
    rendered = unit.deps.templates.render(STOCK_RAN_LOW, locale, "email", values)
    message = NewMessage(
        id=message_id(event_id, STOCK_RAN_LOW),
        order_id=None,
        source_event_id=event_id,
        source_type=envelope.type,
        template=STOCK_RAN_LOW,
        channel="email",
        locale=locale,
        recipient=recipient,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        variant=None,
        correlation_id=envelope.correlation_id,
        send_after=unit.now,
    )
    created = await repository.add_messages(unit.conn, [message])
    log.info("low stock mailed to operations", sku=warning.sku, recorded=bool(created))


async def announce(runtime: Runtime[Deps]) -> None:
    """Says once at start whether operations warnings are mailed."""
    s = runtime.deps.settings
    if s.ops_email is None:
        log.info("no operations address (NOTIFY_OPS_EMAIL): low-stock warnings are not mailed")
    else:
        quiet = s.ops_stock_quiet_seconds
        log.info("low-stock warnings are mailed to operations", locale=s.ops_locale, quiet=quiet)
