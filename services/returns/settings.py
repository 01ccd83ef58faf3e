"""Settings of the returns service, read from `RETURNS_*` environment variables."""

from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.returns.domain.records import Policy
from shared.settings import ServiceSettings


class ReturnsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RETURNS_", extra="ignore")

    database_url: str = "postgresql://fulfil@127.0.0.1:5432/returns"
    http_port: int = 8005

    return_window_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    """No-reason returns are accepted this long after delivery (seven days)."""
    not_received_after_seconds: float = Field(default=5 * 24 * 3600, gt=0)
    """A parcel not arrived this long after its promised (or actual) ship date is refunded
    by rule, without operations."""

    def policy(self) -> Policy:
        return Policy(
            return_window=timedelta(seconds=self.return_window_seconds),
            not_received_after=timedelta(seconds=self.not_received_after_seconds),
        )
