"""The edges the logistics service works through, built once from its settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.logistics.carriers.base import Carrier
from services.logistics.carriers.kuaidi100 import Kuaidi100Account, Kuaidi100Carrier
from services.logistics.carriers.sandbox import courier_client, sandbox_carriers
from services.logistics.domain.shipping import ShippingCalendar
from services.logistics.settings import LogisticsSettings, production_refusal
from shared import effects
from shared.http_client import KeptAlive
from shared.settings import ConfigurationRefused

WEBHOOK_PATH = "/v1/webhooks/kuaidi100"
# Kuaidi100's kept-alive connections: as many as the effects worker has calls in flight
CONNECTIONS = effects.Policy.batch_size


@dataclass
class Deps:
    settings: LogisticsSettings
    calendar: ShippingCalendar
    carriers: Mapping[str, Carrier]
    # the kept-alive HTTP clients, closed when the service stops: Kuaidi100's (its couriers
    # share it) and the sandbox courier's, which posts the checkpoint webhooks
    kuaidi100_http: KeptAlive | None = None
    sandbox_http: KeptAlive | None = None
    # carrier bookings and subscriptions, made after commit: retried with backoff, re-made
    # after a lease ends
    effects: effects.Policy = field(
        default_factory=lambda: effects.Policy(
            max_attempts=10, backoff_seconds=1.0, backoff_max_seconds=300.0, lease_seconds=30.0
        )
    )


def make_deps(settings: LogisticsSettings, carriers: Mapping[str, Carrier] | None = None) -> Deps:
    """Kuaidi100 for the couriers it is configured for, the sandbox carrier for the others
    (never in production: ConfigurationRefused, naming what is missing)."""
    if (refusal := production_refusal(settings)) is not None:
        raise ConfigurationRefused(refusal)
    kuaidi100_http = None
    if carriers is None:
        names = settings.couriers_in_use()
        built: dict[str, Carrier] = dict(sandbox_carriers(names))
        account = kuaidi100_account(settings)
        if account is not None:
            kuaidi100_http = KeptAlive(timeout=account.timeout_seconds, concurrency=CONNECTIONS)
            for name, company in settings.kuaidi100_couriers.items():
                built[name] = Kuaidi100Carrier(name, company, account, kuaidi100_http)
        carriers = built
    sandbox_http = courier_client() if settings.sandbox else None
    return Deps(settings, settings.calendar, carriers, kuaidi100_http, sandbox_http)


def kuaidi100_account(settings: LogisticsSettings) -> Kuaidi100Account | None:
    """Kuaidi100's credentials, when it books any courier and they are all set."""
    s = settings
    if not s.kuaidi100_couriers:
        return None
    key, secret, salt = s.kuaidi100_key, s.kuaidi100_secret, s.kuaidi100_salt
    if key is None or secret is None or salt is None or not s.kuaidi100_customer:
        missing = [
            f"LOGISTICS_KUAIDI100_{name}"
            for name, value in (
                ("KEY", key),
                ("CUSTOMER", s.kuaidi100_customer),
                ("SECRET", secret),
                ("SALT", salt),
            )
            if not value
        ]
        raise ConfigurationRefused(
            f"LOGISTICS_KUAIDI100_COURIERS names couriers but {', '.join(missing)} is not set"
        )
    return Kuaidi100Account(
        key=key.get_secret_value(),
        customer=s.kuaidi100_customer,
        secret=secret.get_secret_value(),
        salt=salt.get_secret_value(),
        callback_url=f"{s.base_url.rstrip('/')}{WEBHOOK_PATH}",
        sender=s.kuaidi100_sender,
        accounts=s.kuaidi100_accounts,
        template_id=s.kuaidi100_template_id,
        api_base=s.kuaidi100_api_base,
        timeout_seconds=s.kuaidi100_timeout_seconds,
    )
