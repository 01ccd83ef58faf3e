"""Settings of the logistics service, read from `LOGISTICS_*` environment variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class LogisticsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LOGISTICS_", extra="ignore")

    database_url: str = "postgresql://fulfil@127.0.0.1:5432/logistics"
    http_port: int = 8003
