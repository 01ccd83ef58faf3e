"""THE topic registry: every topic declared once.

Production code creates topics, routes published events and picks what a
service consumes from here; the contract tests check its rules (one writer per
topic, every handled event type declared on a consumed topic).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.contracts.envelope import Envelope, Event
from shared.contracts.events import logistics, notify, order, payment, returns

SERVICES = ("order", "payment", "logistics", "notify", "returns")
DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class Topic:
    name: str
    producer: str
    consumers: tuple[str, ...]
    events: tuple[type[Event], ...]
    # Every order's happy path carries events on it, so its consumers read it on their hot
    # path (shared.kafka.groups). No default: no topic is declared without saying.
    per_order: bool
    key: str = "order_id"
    partitions: int = 6
    retention_ms: int = 14 * DAY_MS
    compacted: bool = False
    description: str = ""
    dead_letter: bool = False
    config: dict[str, str] = field(default_factory=dict)

    def kafka_config(self) -> dict[str, str]:
        config = {
            "retention.ms": str(self.retention_ms),
            "cleanup.policy": "compact" if self.compacted else "delete",
        }
        config.update(self.config)
        return config

    def key_of(self, envelope: Envelope) -> str:
        """The partitioning key: the order id, or a payload field (`payload.sku`)."""
        if self.key == "order_id":
            if envelope.order_id is None:
                raise ValueError(f"{envelope.type} on {self.name} needs an order_id")
            return envelope.order_id
        field_name = self.key.removeprefix("payload.")
        return str(envelope.payload[field_name])


def _dead_letter(service: str) -> Topic:
    return Topic(
        name=f"deadletter.{service}.v1",
        producer=service,
        consumers=(),
        events=(),
        per_order=False,
        key="original",
        partitions=3,
        retention_ms=30 * DAY_MS,
        description=f"Messages {service} could not process, with the reason and original bytes.",
        dead_letter=True,
    )


TOPICS: tuple[Topic, ...] = (
    Topic(
        name="orders.v1",
        producer="order",
        consumers=("payment", "logistics", "notify", "returns"),
        events=(
            order.OrderPlaced,
            order.OrderPaid,
            order.OrderCancellationRequested,
            order.OrderCancelled,
            order.OrderClosed,
            order.OrderCompleted,
            order.OrderRefused,
            order.BackorderChoiceMade,
        ),
        per_order=True,
        description="The order's lifecycle decisions.",
    ),
    Topic(
        name="payments.v1",
        producer="payment",
        consumers=("order", "notify", "returns"),
        events=(
            payment.PaymentRequested,
            payment.PaymentSucceeded,
            payment.PaymentFailed,
            payment.RefundPaid,
            payment.RefundFailed,
            payment.CashCollectionMismatch,
            payment.ExchangePaymentRequested,
            payment.ExchangePaymentSucceeded,
        ),
        per_order=True,
        description="Payment requests, outcomes and refunds; cash collections that differ "
        "from what was due, for operations.",
    ),
    Topic(
        name="shipments.v1",
        producer="logistics",
        consumers=("order", "payment", "notify", "returns"),
        events=(
            logistics.StockReserved,
            logistics.StockRanShort,
            logistics.StockShortage,
            logistics.StockBackordered,
            logistics.BackorderDropped,
            logistics.BackorderWaiting,
            logistics.BackorderFilled,
            logistics.BackorderRestockDateChanged,
            logistics.StockReleased,
            logistics.ShippingPromiseSet,
            logistics.ShipmentPicked,
            logistics.ShipmentPacked,
            logistics.ShipmentShipped,
            logistics.CheckpointReached,
            logistics.ShipmentWentOutForDelivery,
            logistics.ShipmentOutForDelivery,
            logistics.ShipmentDelivered,
            logistics.ShipmentDelayed,
            logistics.ShipmentDelayAnnounced,
            logistics.ShipmentCancelled,
            logistics.ShipmentStopped,
            logistics.ShipmentAlreadyDispatched,
            logistics.ShipmentRefused,
            logistics.ShipmentReturnedToShop,
            logistics.CourierSubstituted,
            logistics.ExchangeReserved,
            logistics.ExchangeUnavailable,
            logistics.ExchangeShipped,
            logistics.ExchangeDelivered,
        ),
        per_order=True,
        description="Stock reservations, shipping and tracking of each order.",
    ),
    Topic(
        name="stock.v1",
        producer="logistics",
        consumers=("notify", "returns"),
        events=(logistics.StockRanLow, logistics.LowStock, logistics.PriceChanged),
        per_order=False,
        key="payload.sku",
        partitions=3,
        description="Low-stock warnings for operations and purchasing, and the catalogue's "
        "price changes, keyed by SKU.",
    ),
    Topic(
        name="returns.v1",
        producer="returns",
        consumers=("order", "payment", "logistics", "notify"),
        events=(
            returns.RefundRequested,
            returns.RefundApproved,
            returns.RefundRejected,
            returns.ReturnShipped,
            returns.ReturnReceived,
            returns.ExchangeRequested,
            returns.ExchangeAccepted,
            returns.ExchangeRefused,
            returns.ExchangeReturnShipped,
            returns.ExchangeReturnReceived,
            returns.ExchangeReleased,
            returns.ExchangeCancelled,
        ),
        per_order=False,
        description="Refund and return requests and each after-sales step.",
    ),
    Topic(
        name="notifications.v1",
        producer="notify",
        consumers=(),
        events=(notify.NotificationSent, notify.NotificationFailed),
        per_order=False,
        description="Customer messages sent or failed, for support and reporting.",
    ),
    Topic(
        name="operations.v1",
        producer="order",
        consumers=(),
        events=(order.OrderStuck,),
        per_order=False,
        partitions=3,
        description="Orders stuck in a stage past its threshold, for the people on call.",
    ),
    *(_dead_letter(service) for service in SERVICES),
)

_BY_NAME = {topic.name: topic for topic in TOPICS}
_BY_EVENT = {event.TYPE: topic for topic in TOPICS for event in topic.events}


def topic(name: str) -> Topic:
    return _BY_NAME[name]


def topic_for_event(event_type: str) -> Topic:
    """The single topic an event type is published on."""
    return _BY_EVENT[event_type]


def consumed_by(service: str) -> tuple[Topic, ...]:
    return tuple(t for t in TOPICS if service in t.consumers)


def dead_letter_topic(service: str) -> Topic:
    return _BY_NAME[f"deadletter.{service}.v1"]
