"""Every courier the shop ships with has a name in every locale and a tracking page."""

from __future__ import annotations

from services.logistics.settings import LogisticsSettings
from services.notify import domain
from shared.contracts import couriers


def test_every_configured_courier_has_a_name_per_locale_and_a_tracking_page() -> None:
    for code in LogisticsSettings().couriers:
        found = couriers.courier(code)
        assert found is not None, f"{code} is missing from shared/contracts/couriers.py"
        names = {found.name(locale) for locale in domain.LOCALES}
        assert code not in names and all(names)
        assert found.tracking_url("AB 12/3").startswith("https://")
        assert "AB%2012%2F3" in found.tracking_url("AB 12/3"), "the number is escaped"


def test_an_unknown_courier_is_shown_as_given_without_a_link() -> None:
    assert couriers.courier_name("Local Express", "zh-CN") == "Local Express"
    assert couriers.tracking_url("Local Express", "X1") is None
    assert couriers.courier_name("SF", "zh-TW") == "順豐速運"
