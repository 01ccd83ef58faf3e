"""Settings of the order service, read from `ORDER_*` environment variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class OrderSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORDER_", extra="ignore")

    database_url: str = "postgresql://fulfil@127.0.0.1:5432/order"
    http_port: int = 8001
