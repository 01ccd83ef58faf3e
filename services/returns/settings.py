"""Settings of the returns service, read from `RETURNS_*` environment variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ReturnsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RETURNS_", extra="ignore")

    database_url: str = "postgresql://fulfil@127.0.0.1:5432/returns"
    http_port: int = 8005
