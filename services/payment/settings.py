"""Settings of the payment service, read from `PAYMENT_*` environment variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class PaymentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAYMENT_", extra="ignore")

    database_url: str = "postgresql://fulfil@127.0.0.1:5432/payment"
    http_port: int = 8002
