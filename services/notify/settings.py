"""Settings of the notify service, read from `NOTIFY_*` environment variables.

Durations are in seconds so a demo can run whole payment windows in a minute.
"""

from datetime import time
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    database_url: str = "postgresql://fulfil@127.0.0.1:5432/notify"
    http_port: int = 8004

    shop_name: str = "Fulfil Shop"
    templates_dir: str | None = None
    default_time_zone: str = "Asia/Shanghai"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_from: str = "Fulfil Shop <orders@fulfil.example>"
    smtp_timeout_seconds: float = 10.0
    smtp_username: str | None = None  # AUTH once per session when the relay wants it
    smtp_password: SecretStr | None = None
    smtp_pool_size: int = 8  # sessions kept open to the relay, one message at a time each
    smtp_idle_seconds: float = 30.0  # closed when idle this long, before the relay drops it
    sms_gateway_url: str = "http://127.0.0.1:8026/sms"
    sms_gateway_key: SecretStr = SecretStr("dev-sms-gateway-key")
    sms_timeout_seconds: float = 10.0

    quiet_hours_start: time = time(22, 0)
    quiet_hours_end: time = time(8, 0)

    reminder_offsets_seconds: list[float] = [3600.0, 86400.0]
    reminder_before_close_seconds: float = 7200.0
    reminder_min_gap_seconds: float = 3600.0
    reminder_max: int = 3
    reminder_variants: list[str] = ["A", "B"]

    # Opting out by contact: signed unsubscribe links, and replies to our SMS ("TD", "STOP").
    unsubscribe_secret: SecretStr = SecretStr("dev-unsubscribe-secret")
    unsubscribe_link_days: int = 365
    sms_inbound_secret: SecretStr = SecretStr("dev-sms-inbound-secret")

    # The sender wakes when a message is recorded (NOTIFY) or falls due; this is the longest
    # it sleeps otherwise (for a retry another replica set, or a lease that ran out).
    sender_poll_seconds: float = 30.0
    sender_batch_size: int = 20
    sender_max_attempts: int = 6
    sender_backoff_seconds: float = 5.0
    sender_backoff_max_seconds: float = 900.0
    sender_lease_seconds: float = 120.0

    # Operations warnings (low stock), by email to staff: none without an address. Not a
    # customer message: no opt-out, no quiet hours; one mail per SKU per quiet period.
    ops_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    ops_locale: Literal["zh-CN", "zh-TW", "en"] = "en"
    ops_stock_quiet_seconds: float = Field(default=6 * 3600, ge=0)
    # A warning older than this when read (a first start reading the topic from its
    # beginning) is history, not news: not mailed.
    ops_stock_max_age_seconds: float = Field(default=24 * 3600, gt=0)

    @field_validator("ops_email", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value
