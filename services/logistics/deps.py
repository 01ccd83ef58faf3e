"""The edges the logistics service works through, built once from its settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.logistics.carriers.base import Carrier
from services.logistics.carriers.sandbox import sandbox_carriers
from services.logistics.domain.shipping import ShippingCalendar
from services.logistics.settings import LogisticsSettings
from shared import effects


@dataclass
class Deps:
    settings: LogisticsSettings
    calendar: ShippingCalendar
    carriers: Mapping[str, Carrier]
    # carrier bookings, made after commit: retried with backoff, re-made after a lease ends
    effects: effects.Policy = field(
        default_factory=lambda: effects.Policy(
            max_attempts=10, backoff_seconds=1.0, backoff_max_seconds=300.0, lease_seconds=30.0
        )
    )


def make_deps(settings: LogisticsSettings, carriers: Mapping[str, Carrier] | None = None) -> Deps:
    """Every configured courier is a sandbox carrier until a real integration replaces it."""
    names = sorted({*settings.couriers, *settings.courier_by_region.values()})
    return Deps(settings, settings.calendar, carriers or sandbox_carriers(names))
