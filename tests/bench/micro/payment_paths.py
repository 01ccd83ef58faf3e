"""CPU per event of what pay-for-me links and cash mismatches add to payment's paths.

    .venv/bin/python -m tests.bench.micro.payment_paths

Prints µs per call, best of several rounds, each beside its baseline measured in the same
run (the machine is shared, so only figures taken side by side compare): the links kept
when a card session opens (every upfront order) against taking the session's as they
were, the same for a pay-for-me session through Stripe (our signed link), and the cash
comparison a delivery report runs against none.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.payment.deps import Deps
from services.payment.domain import Attempt, AttemptStatus, PaymentState, cash_mismatch
from services.payment.providers import Session
from services.payment.providers.sandbox import SandboxProvider
from services.payment.settings import PaymentSettings
from services.payment.steps.sessions import _links
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.effects import Effect

ROUNDS = 9
CALLS = 20_000
NOW = datetime(2026, 11, 11, tzinfo=UTC)


def _best(stmt: Callable[[], Any]) -> float:
    return min(timeit.repeat(stmt, number=CALLS, repeat=ROUNDS)) / CALLS * 1e6


class _Stripe:
    name = "stripe"


def _effect(method: str, provider: str) -> Effect:
    payload = {"order_id": "ord_bench", "method": method, "provider": provider}
    return Effect(1, "payment_session", "pat_bench", payload, 0, None, None)


def main() -> None:
    settings = PaymentSettings(env="test")
    sandbox = SandboxProvider(secret="s", public_url="http://x", webhook_url="http://x/w")
    deps = Deps(settings, {"sandbox": sandbox, "stripe": _Stripe()})  # type: ignore[dict-item]
    session = Session("cs_bench", checkout_url="https://checkout.stripe.com/c/pay/cs_bench")
    card, friend = _effect("card", "sandbox"), _effect("pay_for_me", "stripe")
    payment = PaymentState(
        "ord_bench", PaymentMethod.CASH_ON_DELIVERY, 5_000, "CNY", None, None, None
    )
    attempt = Attempt(
        "pat_bench", "ord_bench", 1, PaymentMethod.CASH_ON_DELIVERY, "courier", None, None,
        None, AttemptStatus.OPEN, None, NOW,
    )  # fmt: skip
    cash = Money(amount=5_000, currency="CNY")

    def as_they_were() -> Any:
        return session.checkout_url, session.pay_link

    pairs = {
        "session links, card": (lambda: _links(deps, card, session), as_they_were),
        "session links, pay-for-me": (lambda: _links(deps, friend, session), as_they_were),
        "cash compared on delivery": (
            lambda: cash_mismatch(payment, attempt, cash, "shp", NOW, NOW),
            lambda: None,
        ),
    }
    for name, (now, before) in pairs.items():
        after_us, before_us = _best(now), _best(before)
        print(f"{name:28s} {before_us:7.2f} -> {after_us:7.2f} µs/event")


if __name__ == "__main__":
    main()
