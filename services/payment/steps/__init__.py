"""What the payment service does inside a unit of work: load, decide (domain), save, emit.

Handlers, timers, views and the effects worker call these. `orders` follows an order's
payment (placed, cash collected, ended, viewed); `sessions` opens payment requests;
`charges` applies what providers report; `refunds` records and pays refunds; `exchanges`
charges an exchange's price difference.
`effects_policy` names the provider calls they record, made after the commit.
"""

from __future__ import annotations

from services.payment.deps import Deps
from services.payment.steps.exchanges import CLOSER, EXCHANGE_CLOSE, EXCHANGE_SESSION, OPENER
from services.payment.steps.refunds import PAYOUT, REFUND
from services.payment.steps.sessions import OPENER as SESSION_OPENER
from services.payment.steps.sessions import SESSION
from shared import effects


def effects_policy(deps: Deps) -> effects.Policy:
    """The provider calls the payment service makes after commit, and how they are retried."""
    settings = deps.settings
    return effects.Policy(
        max_attempts=settings.refund_max_attempts,
        backoff_seconds=settings.refund_retry_base_seconds,
        backoff_max_seconds=settings.refund_retry_max_seconds,
        lease_seconds=settings.effects_lease_seconds,
        poll_seconds=settings.effects_poll_seconds,
        performers={
            REFUND: PAYOUT,
            SESSION: SESSION_OPENER,
            EXCHANGE_SESSION: OPENER,
            EXCHANGE_CLOSE: CLOSER,
        },
    )
