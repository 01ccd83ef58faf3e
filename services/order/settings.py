"""Settings of the order service, read from `ORDER_*` environment variables."""

from dataclasses import fields
from typing import Annotated

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.order.domain.fees import Postage
from services.order.domain.placing import Limits
from services.order.domain.stuck import Thresholds
from shared.settings import ServiceSettings
from shared.tokens import order_token


class OrderSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORDER_", extra="ignore")

    database_url: str = "postgresql://fulfil@127.0.0.1:5432/order"
    http_port: int = 8001

    payment_window_seconds: float = Field(default=259_200.0, gt=0)  # 72 hours
    auto_confirm_seconds: float = Field(default=864_000.0, gt=0)  # 10 days
    max_lines: int = Field(default=50, ge=1)
    max_quantity: int = Field(default=99, ge=1)
    max_unit_price: int = Field(default=10_000_000, ge=1)
    max_order_total: int = Field(default=100_000_000, ge=1)
    max_gift_message: int = Field(default=200, ge=0)
    # Stuck orders (docs/operations.md): how often the check runs, and how long an order may
    # stay in each stage before it counts as stuck (for not_shipped: past its promise).
    stuck_check_seconds: float = Field(default=60.0, gt=0)
    stuck_awaiting_payment_request_seconds: float = Field(default=300.0, gt=0)  # 5 minutes
    stuck_not_shipped_seconds: float = Field(default=21_600.0, ge=0)  # 6 hours of grace
    stuck_silent_in_transit_seconds: float = Field(default=172_800.0, gt=0)  # 48 hours
    stuck_refund_unanswered_seconds: float = Field(default=172_800.0, gt=0)  # 48 hours
    # A report of a stay that is over is kept this long, then purged (housekeeping).
    stuck_report_retention_days: float = Field(default=30.0, gt=0)

    # Postage (minor units of the order's currency) and the goods value, after the discount,
    # from which shipping is free (none: never free). By default shipping is free.
    shipping_fee: int = Field(default=0, ge=0)
    free_shipping_from: int | None = Field(default=None, ge=0)
    # The couriers a customer may choose at checkout and the surcharge each adds to the
    # postage (minor units), e.g. {"sf": 1500}; empty: no choice, logistics picks.
    courier_options: dict[str, Annotated[int, Field(ge=0)]] = {}
    # Where completed orders invite a review, e.g. "https://shop.example/orders/{order_id}/review".
    review_url_template: str | None = None

    @property
    def limits(self) -> Limits:
        """The shop's limits: the settings of the same names."""
        return Limits(**{limit.name: getattr(self, limit.name) for limit in fields(Limits)})

    @property
    def stuck_thresholds(self) -> Thresholds:
        """Each stage's threshold: the `stuck_<stage>_seconds` settings."""
        return Thresholds(
            **{t.name: getattr(self, f"stuck_{t.name}_seconds") for t in fields(Thresholds)}
        )

    @property
    def postage(self) -> Postage:
        return Postage(fee=self.shipping_fee, free_from=self.free_shipping_from)

    def review_url(self, order_id: str) -> str | None:
        template = self.review_url_template
        return template.format(order_id=order_id) if template else None

    def order_link(self, order_id: str) -> tuple[str, str]:
        """The order's access token and the link customer messages carry."""
        token = order_token(self.order_token_secret.get_secret_value(), order_id)
        return token, f"{self.base_url}/v1/orders/{order_id}?access_token={token}"
