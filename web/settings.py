"""Settings of the web pages, read from `WEB_*` environment variables.

The services are reached at their public base URLs; the page holds no service secret
(the customer's token comes in the link, the operations key only for the console).
"""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class WebSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore")

    http_port: int = 8010

    order_url: str = "http://127.0.0.1:8001"
    payment_url: str = "http://127.0.0.1:8002"
    logistics_url: str = "http://127.0.0.1:8003"
    notify_url: str = "http://127.0.0.1:8004"
    returns_url: str = "http://127.0.0.1:8005"
    api_timeout_seconds: float = Field(default=10.0, gt=0)

    # signs the forms' anti-forgery tokens (web/security.py)
    csrf_secret: SecretStr = SecretStr("dev-web-csrf-secret")
    # cookies only over HTTPS: on unless the page is served over plain HTTP on this machine
    secure_cookies: bool | None = None

    shop_name: str = "Fulfil Shop"

    def secrets(self) -> dict[str, SecretStr]:
        """The secrets the pages use: their own, and the operations key of the console."""
        return {"csrf_secret": self.csrf_secret, "ops_api_key": self.ops_api_key}

    @property
    def cookies_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return self.base_url.startswith("https://")
