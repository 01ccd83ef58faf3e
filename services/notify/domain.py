"""The notify service's business rules: pure functions and values, no I/O.

Which message an event yields, who gets it on which channel, when it may go
(quiet hours), when payment reminders fall and which wording variant an order
gets. Times are passed in; nothing here reads a clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.notify import domain_backorders, domain_exchanges
from shared.contracts.envelope import Event
from shared.contracts.events.common import Address, Contact
from shared.contracts.events.notify import NotificationFailed, NotificationSent
from shared.contracts.events.order import OrderPlaced

CHANNELS = ("email", "sms")
LOCALES = ("zh-CN", "zh-TW", "en")

# Every template the service renders, each in every locale and channel.
TEMPLATES = (
    "order_confirmation", "payment_received", "payment_failed", "payment_reminder",
    "order_closed", "order_cancelled", "stock_shortage_apology", "shipped", "shipment_delayed",
    "arrived_in_city", "out_for_delivery", "delivery_failed", "delivered", "delivery_refused",
    "refund_requested", "price_difference", "refund_approved", "refund_paid", "return_received",
    "order_completed", "courier_changed", "delay_announced", *domain_backorders.TEMPLATES,
    *domain_exchanges.TEMPLATES,
)  # fmt: skip

# Messages to the shop's operations staff (NOTIFY_OPS_EMAIL), by email only, in the
# operations locale: about the business, not an order, and never opted out of.
OPS_TEMPLATES = ("stock_ran_low",)

# Sent at once even in quiet hours: answers to what the customer just did, the parcel
# handed over (proof of delivery), and a question with a deadline. Everything else, the
# parcel's other steps included, waits for the morning.
URGENT = frozenset(
    {
        "order_confirmation",
        "payment_received",
        "payment_failed",
        "refund_requested",
        "delivered",
        "price_difference",
        # the backorder question: the customer has a deadline to answer
        *domain_backorders.URGENT,
        # the answer to an exchange request, and the difference to pay by its deadline
        *domain_exchanges.URGENT,
    }
)
# Non-essential: what a customer may opt out of. Transactional messages always go: the
# parcel's steps the customer must act on (be in, rearrange a failed delivery) or that
# prove the hand-over are transactional; "arrived in your city" is news only, and the
# completed order's message is there to invite a review: a solicitation, opted out of too.
NON_ESSENTIAL = frozenset({"payment_reminder", "arrived_in_city", "order_completed"})

# The parcel's steps told to the customer, each at most once per parcel (an order of
# several parcels hears of each one's), in the order they happen; a step told silences
# the earlier ones arriving late (no "arrived in your city" after "delivered"). A failed
# attempt comes after going out, before delivery. Shipping, which lists the parcel's
# goods, is told whenever it arrives.
CHECKPOINT_STEPS = (
    "shipped", "arrived_in_city", "out_for_delivery", "delivery_failed", "delivered",
)  # fmt: skip
_SILENCED_BY = {
    "shipped": set(),
    "arrived_in_city": {"out_for_delivery", "delivery_failed", "delivered"},
    "out_for_delivery": {"delivered"},
    "delivery_failed": {"delivered"},
    "delivered": set(),
}
# A courier's checkpoint status (CheckpointReached.status) told as a step of its own.
CHECKPOINT_TEMPLATES = {"arrived_in_city": "arrived_in_city", "failed_attempt": "delivery_failed"}
REMINDER = "payment_reminder"


class OrderState:
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    REFUSED = "refused"  # the parcel was refused at the door or undeliverable


@dataclass(frozen=True)
class Preferences:
    email: bool = True
    sms: bool = True
    marketing_opt_out: bool = False


@dataclass(frozen=True)
class OrderRecord:
    """What notify knows of an order: its OrderPlaced and where its payment stands."""

    order_id: str
    placed: OrderPlaced
    placed_at: datetime
    state: str
    variant: str
    reminders: int


@dataclass(frozen=True)
class Source:
    """What a message answers: the event (or reminder) that caused it, what that said, and
    the wording variant a reminder uses."""

    id: str
    type: str
    correlation_id: str | None
    event: Event | dict[str, Any] | None = None
    variant: str | None = None


@dataclass(frozen=True)
class NewMessage:
    id: str
    order_id: str | None  # None: a message to operations, about no order
    source_event_id: str
    source_type: str
    template: str
    channel: str
    locale: str
    recipient: str
    subject: str | None
    body_text: str
    body_html: str | None
    variant: str | None
    correlation_id: str | None
    send_after: datetime
    status: str = "pending"
    skip_reason: str | None = None
    unsubscribe_url: str | None = None


@dataclass(frozen=True)
class NextReminder:
    number: int
    at: datetime


@dataclass(frozen=True)
class Outcome:
    """What an event does to an order, decided before anything is saved: its new state (and
    when it was paid), whether its reminders stop, what the customer is told, and the next
    reminder to plan."""

    tell: str | None = None
    state: str | None = None
    paid_at: datetime | None = None
    stop_reminders: bool = False
    next_reminder: NextReminder | None = None


def told(template: str) -> Outcome:
    return Outcome(tell=template)


def paid(paid_at: datetime) -> Outcome:
    return Outcome(
        tell="payment_received", state=OrderState.PAID, paid_at=paid_at, stop_reminders=True
    )


def ended(state: str, template: str) -> Outcome:
    """The order ended (closed, cancelled, refused): no more reminders; the customer hears why."""
    return Outcome(tell=template, state=state, stop_reminders=True)


def cancelled(reason: str) -> Outcome:
    return ended(OrderState.CANCELLED, cancellation_template(reason))


def refused(state: str) -> Outcome:
    told_already = state == OrderState.REFUSED  # once, even if told again under another id
    return Outcome() if told_already else ended(OrderState.REFUSED, "delivery_refused")


def payment_failed(state: str) -> Outcome:
    return told("payment_failed") if payment_failure_is_told(state) else Outcome()


def checkpoint(step: str, told_already: set[str]) -> Outcome:
    """A parcel's step (CHECKPOINT_STEPS): told unless this parcel's customer heard of it
    already, or of a later step."""
    if step in told_already or _SILENCED_BY[step] & told_already:
        return Outcome()
    return told(step)


def silenced_by(step: str) -> list[str]:
    """The earlier steps whose messages `step` makes stale (to drop if still waiting)."""
    return [earlier for earlier, later in _SILENCED_BY.items() if step in later]


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def holds(self, local: time) -> bool:
        """True when `local` (a wall-clock time) falls inside the quiet window."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def zone(name: str, fallback: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def in_quiet_hours(now: datetime, tz: ZoneInfo, quiet: QuietHours) -> bool:
    return quiet.holds(now.astimezone(tz).time())


def quiet_hours_end(now: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    """The next moment, at or after `now`, when the quiet window of `tz` is over."""
    local = now.astimezone(tz)
    if not quiet.holds(local.time()):
        return now
    morning = datetime.combine(local.date(), quiet.end, tzinfo=tz)
    if morning <= local:
        morning = datetime.combine(local.date() + timedelta(days=1), quiet.end, tzinfo=tz)
    return morning.astimezone(now.tzinfo)


def send_after(template: str, now: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    """When a message may go: now when urgent or outside quiet hours, else the morning."""
    return now if template in URGENT else quiet_hours_end(now, tz, quiet)


def channels_for(template: str, contact: Contact, prefs: Preferences) -> list[str]:
    """The channels a message goes on: the contact details the order has, minus what the
    customer turned off; nothing non-essential for a customer who opted out."""
    if template in NON_ESSENTIAL and prefs.marketing_opt_out:
        return []
    chosen = []
    if contact.email and prefs.email:
        chosen.append("email")
    if contact.phone and prefs.sms:
        chosen.append("sms")
    return chosen


def cancellation_template(reason: str) -> str:
    return "stock_shortage_apology" if reason == "stock_shortage" else "order_cancelled"


def refund_request_is_told(actor: str) -> bool:
    """A refund request the system opened itself (a cancelled paid order) is followed at once
    by its approval; the customer hears of that, not of the paperwork."""
    return actor != "system"


def payment_failure_is_told(state: str) -> bool:
    return state == OrderState.AWAITING_PAYMENT


def variant_for(order_id: str, variants: Sequence[str]) -> str:
    """The reminder wording an order gets: stable for the order, spread evenly over variants."""
    if not variants:
        raise ValueError("at least one reminder variant is required")
    digest = hashlib.sha256(order_id.encode()).digest()
    return variants[int.from_bytes(digest[:8], "big") % len(variants)]


@dataclass(frozen=True)
class ReminderSchedule:
    offsets_seconds: Sequence[float]
    before_close_seconds: float
    min_gap_seconds: float
    max_count: int

    def plan(self, placed_at: datetime, due_at: datetime) -> list[datetime]:
        """The planned reminder times: offsets after placement and one before the window
        closes, all strictly inside the window, spaced at least `min_gap`, at most `max`."""
        candidates = [placed_at + timedelta(seconds=s) for s in self.offsets_seconds]
        if self.before_close_seconds > 0:
            candidates.append(due_at - timedelta(seconds=self.before_close_seconds))
        gap = timedelta(seconds=self.min_gap_seconds)
        planned: list[datetime] = []
        for at in sorted(candidates):
            if at <= placed_at or at >= due_at:
                continue
            if planned and at - planned[-1] < gap:
                continue
            planned.append(at)
        return planned[: self.max_count]

    def next_after(
        self, placed_at: datetime, due_at: datetime, sent: int, now: datetime
    ) -> datetime | None:
        """When reminder number `sent + 1` falls, given `sent` went already; None when done.
        A planned time already past (the order was learnt late, or a reminder waited for the
        morning) moves to now, or to `min_gap` after the previous reminder."""
        plan = self.plan(placed_at, due_at)
        if sent >= len(plan):
            return None
        earliest = now + timedelta(seconds=self.min_gap_seconds) if sent else now
        at = max(plan[sent], earliest)
        return at if at < due_at else None

    def next_for(self, order: OrderRecord, sent: int, now: datetime) -> NextReminder | None:
        """The order's reminder after `sent` of them went; None when there is none."""
        due = order.placed.payment_due_at
        at = None if due is None else self.next_after(order.placed_at, due, sent, now)
        return None if at is None else NextReminder(sent + 1, at)


def placed(order: OrderRecord, schedule: ReminderSchedule, now: datetime) -> Outcome:
    """A new order: confirm it, and plan its first payment reminder."""
    return Outcome(tell="order_confirmation", next_reminder=schedule.next_for(order, 0, now))


@dataclass(frozen=True)
class ReminderDecision:
    send: bool
    rearm_at: datetime | None


def reminder_decision(
    *,
    now: datetime,
    due_at: datetime,
    state: str,
    opted_out: bool,
    tz: ZoneInfo,
    quiet: QuietHours,
) -> ReminderDecision:
    """What a due reminder does: go now, wait for the morning, or not go at all."""
    if state != OrderState.AWAITING_PAYMENT or opted_out or now >= due_at:
        return ReminderDecision(send=False, rearm_at=None)
    if in_quiet_hours(now, tz, quiet):
        morning = quiet_hours_end(now, tz, quiet)
        return ReminderDecision(send=False, rearm_at=morning if morning < due_at else None)
    return ReminderDecision(send=True, rearm_at=None)


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    return "*" * max(0, len(digits) - 4) + digits[-4:] if len(digits) > 4 else "****"


def mask_email(email: str) -> str:
    name, _, host = email.partition("@")
    return f"{name[:1]}***@{host}" if host else "***"


def mask_recipient(channel: str, recipient: str) -> str:
    return mask_email(recipient) if channel == "email" else mask_phone(recipient)


def mask_street(street: str) -> str:
    """Keeps the start of a street line (enough to recognise it), hides the rest."""
    keep = max(2, len(street) // 2)
    return street[:keep] + "***" if len(street) > keep else street[:1] + "***"


def masked_address(address: Address, locale: str) -> str:
    """The delivery address as a message shows it: the area in full, the street masked,
    in the order the locale writes addresses."""
    street = mask_street(address.line1)
    if locale.startswith("zh"):
        return "".join(dict.fromkeys(p for p in (address.region, address.city, street) if p))
    return ", ".join(dict.fromkeys(p for p in (street, address.city, address.region) if p))


# Opting out by contact: a guest has no customer id, only the phone or email the order gave.


def _about(message: Mapping[str, Any]) -> dict[str, Any]:
    """What a notification event says of the message it is about."""
    fields = ("template", "channel", "locale", "source_event_id")
    return {"notification_id": message["id"], **{f: message[f] for f in fields}}


def sent_event(message: Mapping[str, Any]) -> NotificationSent:
    """The fact that a recorded message reached its channel."""
    return NotificationSent(**_about(message), variant=message["variant"])


def failed_event(message: Mapping[str, Any], error: str) -> NotificationFailed:
    """The fact that a recorded message will not go: refused for good, or out of attempts."""
    return NotificationFailed(**_about(message), error=error[:500])
