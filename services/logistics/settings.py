"""Settings of the logistics service, read from `LOGISTICS_*` environment variables.

Durations are in seconds so a demo can run its windows in seconds. Lists and
maps are JSON in the environment, e.g. `LOGISTICS_HOLIDAYS='["2026-10-01"]'`,
`LOGISTICS_COURIER_BY_REGION='{"Guangdong": "sf"}'`.
"""

from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from services.logistics.domain.shipping import ShippingCalendar
from shared.contracts.events.common import BackorderChoice
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
    # The warehouse: false books the courier at dispatch (above); true makes a paid order's
    # shipment wait on the pick list until the warehouse has picked, packed and handed it
    # over (/v1/ops/shipments/ID/picked, /packed, /handed-over); only the hand-over books it.
    warehouse_steps: bool = False
    # 0 judges "late" by the promised date's cut-off; more judges it this long after payment.
    ship_by_seconds: float = 0.0
    checkpoint_silence_seconds: float = 48 * 3600.0
    # The failed delivery attempt after which the courier is taken to give up: the parcel
    # goes back to the shop, undeliverable (0: never; only the courier's own return counts).
    max_delivery_attempts: int = Field(default=3, ge=0)

    # Backorders: an order some of whose units are short (not all) holds what is there and
    # the customer chooses, within `backorder_choice_seconds`, to ship it (the rest refunded)
    # or to wait for the restock; `backorder_default` applies without an answer. False (or
    # cash on delivery, or nothing of the order in stock) cancels the order as short.
    backorders: bool = True
    backorder_choice_seconds: float = Field(default=48 * 3600.0, gt=0)
    backorder_default: BackorderChoice = "ship_available"

    # Couriers: a region's rule first, otherwise a rotation over `couriers`.
    couriers: list[str] = ["sf", "zto", "yto"]
    courier_by_region: dict[str, str] = {}
    # Regions a courier does not deliver to (names as in courier_by_region, any case), e.g.
    # {"sf": ["Xinjiang"]}: never chosen there, a customer's choice of it substituted.
    courier_excluded_regions: dict[str, list[str]] = {}
    carrier_webhook_secret: SecretStr = SecretStr("dev-carrier-webhook-secret")

    # Kuaidi100 (carriers/kuaidi100.py) books and tracks the couriers named here, by its
    # company code, e.g. {"sf": "shunfeng", "zto": "zhongtong"}; the others are sandboxes.
    kuaidi100_couriers: dict[str, str] = {}
    kuaidi100_key: SecretStr | None = None  # the authorisation key (授权key)
    kuaidi100_customer: str | None = None  # the customer id the real-time query is signed with
    kuaidi100_secret: SecretStr | None = None  # signs e-waybill orders
    kuaidi100_salt: SecretStr | None = None  # ours: Kuaidi100 signs its pushes with it
    kuaidi100_api_base: str | None = None  # only to point every endpoint at a stub
    kuaidi100_sender: dict[str, str] = {}  # sendMan: {"name", "mobile", "printAddr"}
    # the couriers' e-waybill accounts by company code: partnerId, partnerKey, net, ...
    kuaidi100_accounts: dict[str, dict[str, str]] = {}
    kuaidi100_template_id: str | None = None  # with one, each booking returns a label image
    kuaidi100_timeout_seconds: float = 10.0
    # Tracking falls back to polling: parcels not delivered and silent (no push) for
    # `silent` seconds are queried every `poll` seconds (0: never), a bounded batch at a time.
    tracking_poll_seconds: float = 1800.0
    tracking_silent_seconds: float = 6 * 3600.0
    tracking_poll_batch: int = 50

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

    def couriers_in_use(self) -> list[str]:
        return sorted({*self.couriers, *self.courier_by_region.values()})

    def couriers_offered(self) -> frozenset[str]:
        """The couriers a customer's choice at checkout is honoured for (where they serve):
        those in use and those Kuaidi100 books."""
        return frozenset({*self.couriers_in_use(), *self.kuaidi100_couriers})

    def secrets(self) -> dict[str, SecretStr]:
        """The secrets checked for placeholders and length: the sandbox webhook's only while
        the sandbox runs; Kuaidi100's key is issued by Kuaidi100, of its length (checked
        for placeholders by `production_refusal`)."""
        found = super().secrets()
        found.pop("kuaidi100_key", None)
        if not self.sandbox:
            found.pop("carrier_webhook_secret", None)
        return found

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


# What Kuaidi100 cannot run without, as (setting, what it is for).
KUAIDI100_REQUIRED = (
    ("kuaidi100_key", "the authorisation key"),
    ("kuaidi100_customer", "the customer id"),
    ("kuaidi100_secret", "the e-waybill secret"),
    ("kuaidi100_salt", "the push signature salt"),
    ("kuaidi100_sender", "the sender on labels"),
)


def production_refusal(settings: LogisticsSettings) -> str | None:
    """Why logistics must not start in production with `settings` (one line), or None: a
    courier without a real carrier (the sandbox refuses to run in production), or
    Kuaidi100 in use without a setting it needs."""
    if settings.env != "production":
        return None
    prefix = str(settings.model_config.get("env_prefix", ""))
    if settings.sandbox_enabled:
        return f"{prefix}SANDBOX_ENABLED is set: the sandbox carrier refuses to run in production"
    real = settings.kuaidi100_couriers
    for courier in settings.couriers_in_use():
        if courier not in real:
            return (
                f"courier {courier} has no real carrier ({prefix}KUAIDI100_COURIERS): "
                "the sandbox carrier refuses to run in production"
            )
    if not real:
        return None
    used_by = ", ".join(sorted(real))
    for name, what in KUAIDI100_REQUIRED:
        value = getattr(settings, name)
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        env_name = f"{prefix}{name.upper()}"
        if not raw:
            return f"{env_name} ({what}) is not set for carrier kuaidi100 (used by {used_by})"
        if isinstance(raw, str) and raw.startswith("dev-"):
            return f"{env_name} holds a development placeholder (carrier kuaidi100)"
    if not settings.public_base_url:
        return f"{prefix}PUBLIC_BASE_URL is not set: Kuaidi100 pushes tracking to it"
    return None
