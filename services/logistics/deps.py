"""The edges the logistics service works through, built once from its settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.logistics.carriers.base import Carrier
from services.logistics.carriers.kuaidi100 import Kuaidi100Account, Kuaidi100Carrier
from services.logistics.carriers.sandbox import sandbox_carriers
from services.logistics.domain.shipping import ShippingCalendar
from services.logistics.settings import LogisticsSettings, production_refusal
from shared import effects
from shared.settings import ConfigurationRefused

WEBHOOK_PATH = "/v1/webhooks/kuaidi100"


@dataclass
class Deps:
    settings: LogisticsSettings
    calendar: ShippingCalendar
    carriers: Mapping[str, Carrier]
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
    if carriers is None:
        names = settings.couriers_in_use()
        built: dict[str, Carrier] = dict(sandbox_carriers(names))
        account = kuaidi100_account(settings)
        if account is not None:
            for name, company in settings.kuaidi100_couriers.items():
                built[name] = Kuaidi100Carrier(name, company, account)
        carriers = built
    return Deps(settings, settings.calendar, carriers)


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
