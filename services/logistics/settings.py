"""Settings of the logistics service, read from `LOGISTICS_*` environment variables.

Durations are in seconds so a demo can run its windows in seconds. Lists and
maps are JSON in the environment, e.g. `LOGISTICS_HOLIDAYS='["2026-10-01"]'`,
`LOGISTICS_COURIER_BY_REGION='{"Guangdong": "sf"}'`.
"""

from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from services.logistics.domain.shipping import ShippingCalendar
from shared.settings import ServiceSettings


class LogisticsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LOGISTICS_", extra="ignore")

    database_url: str = "postgresql://fulfil@127.0.0.1:5432/logistics"
    http_port: int = 8003

    default_warehouse: str = "main"

    # The shipping promise.
    shop_time_zone: str = "Asia/Shanghai"
    cutoff: time = time(14, 0)
    working_days: list[int] = [1, 2, 3, 4, 5]
    holidays: list[date] = []
    delivery_days: int = 2

    # Dispatch: 0 ships the moment an order is paid; more waits that long (a durable timer).
    ship_delay_seconds: float = 0.0
    # 0 judges "late" by the promised date's cut-off; more judges it this long after payment.
    ship_by_seconds: float = 0.0
    checkpoint_silence_seconds: float = 48 * 3600.0

    # Couriers: a region's rule first, otherwise a rotation over `couriers`.
    couriers: list[str] = ["sf", "zto", "yto"]
    courier_by_region: dict[str, str] = {}
    carrier_webhook_secret: SecretStr = SecretStr("dev-carrier-webhook-secret")

    # The sandbox carrier (never in production) and the demo catalogue.
    sandbox_enabled: bool | None = None
    sandbox_auto_advance_seconds: float | None = None
    sandbox_origin_city: str = "Shenzhen"
    demo_catalogue: bool | None = None

    @field_validator("shop_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("working_days")
    @classmethod
    def _iso_weekdays(cls, value: list[int]) -> list[int]:
        if not value or any(d < 1 or d > 7 for d in value):
            raise ValueError("working days are ISO weekdays 1 (Monday) to 7, at least one")
        return value

    @property
    def calendar(self) -> ShippingCalendar:
        return ShippingCalendar(
            time_zone=ZoneInfo(self.shop_time_zone),
            cutoff=self.cutoff,
            working_days=frozenset(self.working_days),
            holidays=frozenset(self.holidays),
        )

    @property
    def sandbox(self) -> bool:
        if self.env == "production":
            return False
        return True if self.sandbox_enabled is None else self.sandbox_enabled

    @property
    def auto_advance_seconds(self) -> float:
        if not self.sandbox:
            return 0.0
        if self.sandbox_auto_advance_seconds is None:
            return 5.0 if self.env == "development" else 0.0
        return self.sandbox_auto_advance_seconds

    @property
    def load_demo_catalogue(self) -> bool:
        if self.demo_catalogue is None:
            return self.env == "development"
        return self.demo_catalogue and self.env != "production"
