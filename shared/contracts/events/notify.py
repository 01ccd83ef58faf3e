"""Events published by the notify service on `notifications.v1`, keyed by order id."""

from __future__ import annotations

from typing import Literal

from shared.contracts.envelope import Event

Channel = Literal["sms", "email"]


class NotificationSent(Event):
    TYPE = "NotificationSent"

    notification_id: str
    template: str
    channel: Channel
    locale: str
    source_event_id: str
    variant: str | None = None


class NotificationFailed(Event):
    TYPE = "NotificationFailed"

    notification_id: str
    template: str
    channel: Channel
    locale: str
    source_event_id: str
    error: str
