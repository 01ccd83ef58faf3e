"""Settings of the returns service, read from `RETURNS_*` environment variables."""

from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.returns.domain.records import Policy, ReturnPostage
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

    return_postage_mode: ReturnPostage = "not_reimbursed"
    """A no-reason return's postage is the customer's: `not_reimbursed` (they send it at
    their cost) or `deducted` (the shop's return label, `return_postage`, is taken off the
    refund). For a quality problem the shop pays it either way."""
    return_postage: int = Field(default=0, ge=0)
    """The return label's cost in minor units, deducted in `deducted` mode."""

    price_protection_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    """A price drop (the catalogue's current price below the price paid, changed after the
    payment) asked for this long after the payment is refunded by rule; later, or for a
    price changed before the payment, it waits for operations."""

    exchange_quality_ships_at_once: bool = True
    """An exchange for a quality problem (damaged, wrong_item, quality_problem) ships its
    replacement as soon as it is accepted (and any difference paid), before the units come
    back; false: like any exchange, once the return is received."""
    exchange_pay_seconds: float = Field(default=24 * 3600, gt=0)
    """A replacement dearer than the units returned is paid for within this time after the
    exchange is accepted (a day: no longer than a Stripe Checkout Session stays open, so
    the link the customer is sent works until the deadline it names), else the exchange is
    cancelled (`unpaid`)."""
    exchange_return_seconds: float = Field(default=7 * 86400, gt=0)
    """The customer sends the units of an accepted exchange back within this time after
    it is accepted (a week), else the exchange is cancelled (`not_returned`) and its
    replacement, held meanwhile, goes back to other customers. A return reported on its
    way or received stops the clock."""

    def policy(self) -> Policy:
        return Policy(
            return_window=timedelta(seconds=self.return_window_seconds),
            not_received_after=timedelta(seconds=self.not_received_after_seconds),
            return_postage_mode=self.return_postage_mode,
            return_postage=self.return_postage,
            price_protection=timedelta(seconds=self.price_protection_seconds),
            exchange_quality_ships_at_once=self.exchange_quality_ships_at_once,
            exchange_pay=timedelta(seconds=self.exchange_pay_seconds),
            exchange_return=timedelta(seconds=self.exchange_return_seconds),
        )
