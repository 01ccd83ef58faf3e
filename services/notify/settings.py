"""Settings of the notify service, read from `NOTIFY_*` environment variables.

Durations are in seconds so a demo can run whole payment windows in a minute.
"""

from datetime import time
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from services.notify import domain
from shared.settings import ServiceSettings
from shared.tokens import order_token

SmsProvider = Literal["gateway", "aliyun", "twilio"]


class AliyunTemplate(BaseModel):
    """An approved Aliyun template: its TemplateCode and, per its `${variable}`, which of
    the message's values fills it: the order id, its last 8 characters, our rendered SMS
    text, or the shop's name."""

    code: str
    params: dict[str, Literal["order_id", "order_ref", "text", "shop_name"]] = {}


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    database_url: str = "postgresql://fulfil@127.0.0.1:5432/notify"
    http_port: int = 8004

    shop_name: str = "Fulfil Shop"
    # The customer's order page (`python -m web`): every message links there, with the
    # order's customer token; unset, messages carry the link the order was placed with.
    order_page_url: str | None = None
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

    # Messages over real providers (docs/providers.md). Email: TLS and certificates
    # verified (against NOTIFY_SMTP_CA_FILE for a private CA); plain text only for the sink.
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_ca_file: str | None = None
    smtp_allow_plaintext: bool = False  # production refuses "none" unless this is true
    # SMS: the provider per E.164 prefix, the longest that matches, "*" for the rest; the
    # development gateway (the local sink) unless set, e.g. {"+86":"aliyun","*":"twilio"}.
    sms_routes: dict[str, SmsProvider] = {"*": "gateway"}
    sms_aliyun_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    sms_aliyun_region: str = "cn-hangzhou"
    sms_aliyun_access_key_id: str | None = None
    sms_aliyun_access_key_secret: SecretStr | None = None
    sms_aliyun_sign_name: str | None = None
    sms_aliyun_templates: dict[str, AliyunTemplate] = {}  # our template -> approved one
    sms_aliyun_receipt_token: SecretStr | None = None  # in the SmsReport push URL (?token=)
    sms_twilio_base_url: str = "https://api.twilio.com"
    sms_twilio_account_sid: str | None = None
    sms_twilio_auth_token: SecretStr | None = None
    sms_twilio_from: str | None = None  # a number of ours, or
    sms_twilio_messaging_service_sid: str | None = None

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
    sender_poll_seconds: float = 60.0
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

    def order_page_link(self, order_id: str) -> str | None:
        if not self.order_page_url:
            return None
        token = order_token(self.order_token_secret.get_secret_value(), order_id)
        return f"{self.order_page_url.rstrip('/')}/orders/{order_id}?token={token}"

    def secrets(self) -> dict[str, SecretStr]:
        """The secrets in use: the development gateway's key only while SMS goes there."""
        found = super().secrets()
        if "gateway" not in self.sms_routes.values():
            found.pop("sms_gateway_key", None)
        return found

    @model_validator(mode="after")
    def _providers_ready_for_production(self) -> "NotifySettings":
        if self.env != "production":
            return self
        if missing := production_gaps(self):
            raise ValueError(f"in production, {'; '.join(missing)}")
        return self


def production_gaps(s: NotifySettings) -> list[str]:
    """What production needs and these settings lack, one sentence each, naming the setting."""
    gaps = []
    if s.smtp_host in ("127.0.0.1", "localhost") and s.smtp_port == 8025:
        gaps.append("NOTIFY_SMTP_HOST/NOTIFY_SMTP_PORT still name the local sink")
    if s.smtp_security == "none" and not s.smtp_allow_plaintext:
        gaps.append("NOTIFY_SMTP_SECURITY is none (set starttls or tls)")
    if s.smtp_username and s.smtp_password is None:
        gaps.append("NOTIFY_SMTP_PASSWORD is missing for NOTIFY_SMTP_USERNAME")
    providers = set(s.sms_routes.values())
    if "gateway" in providers:
        gaps.append("NOTIFY_SMS_ROUTES sends to the development SMS gateway")
    required: dict[str, dict[str, object]] = {
        "aliyun": {
            "SMS_ALIYUN_ACCESS_KEY_ID": s.sms_aliyun_access_key_id,
            "SMS_ALIYUN_ACCESS_KEY_SECRET": s.sms_aliyun_access_key_secret,
            "SMS_ALIYUN_SIGN_NAME": s.sms_aliyun_sign_name,
            "SMS_ALIYUN_TEMPLATES": s.sms_aliyun_templates,
            "SMS_ALIYUN_RECEIPT_TOKEN": s.sms_aliyun_receipt_token,
        },
        "twilio": {
            "SMS_TWILIO_ACCOUNT_SID": s.sms_twilio_account_sid,
            "SMS_TWILIO_AUTH_TOKEN": s.sms_twilio_auth_token,
            "SMS_TWILIO_FROM": s.sms_twilio_from or s.sms_twilio_messaging_service_sid,
            "PUBLIC_BASE_URL": s.public_base_url,  # where Twilio posts its status callbacks
        },
    }
    for provider in sorted(providers & required.keys()):
        gaps += [f"NOTIFY_{name} is missing" for name, v in required[provider].items() if not v]
    # Aliyun sends only approved templates: a message without one would fail at send time
    unmapped = [t for t in domain.TEMPLATES if t not in s.sms_aliyun_templates]
    if "aliyun" in providers and s.sms_aliyun_templates and unmapped:
        gaps.append(f"NOTIFY_SMS_ALIYUN_TEMPLATES has no approved template for {unmapped}")
    return gaps
