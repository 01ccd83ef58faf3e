"""Events published by the notify service on `notifications.v1`, keyed by order id."""

from __future__ import annotations

from typing import Literal

from shared.contracts.envelope import Event

Channel = Literal["sms", "email"]


class NotificationOutcome(Event):
    """What each outcome names: the notification, how it was sent and the event it tells of."""

    notification_id: str
    template: str
    channel: Channel
    locale: str
    source_event_id: str


class NotificationSent(NotificationOutcome):
    TYPE = "NotificationSent"

    variant: str | None = None


class NotificationFailed(NotificationOutcome):
    TYPE = "NotificationFailed"

    error: str
