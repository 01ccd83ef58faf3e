"""Settings of the notify service, read from `NOTIFY_*` environment variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    database_url: str = "postgresql://fulfil@127.0.0.1:5432/notify"
    http_port: int = 8004
