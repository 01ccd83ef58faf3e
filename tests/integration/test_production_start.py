"""One switch, `ENV=production`, puts every service in production; each then starts only
with what production needs and otherwise exits non-zero with one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.infra import REPO

SERVICES = ("order", "payment", "logistics", "notify", "returns")
STRONG = "prod-secret-" + "x" * 24
SWITCHES = ("ENV", "FULFIL_ENV")


def bare_env(**values: str) -> dict[str, str]:
    """The process environment with no service configured at all, plus `values`."""
    prefixes = (*(f"{s.upper()}_" for s in SERVICES), "FULFIL_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    for name in SWITCHES:
        env.pop(name, None)
    env.update(values)
    env["PYTHONPATH"] = str(REPO)
    return env


def refusal(service: str, env: dict[str, str]) -> str:
    """What `service` says when it refuses to start (it must refuse, at once, in one line)."""
    done = subprocess.run(
        [sys.executable, "-m", f"services.{service}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f"one line, no traceback: {done.stderr}"
    return lines[0]


@pytest.mark.parametrize("service", ["order", "payment", "notify", "returns"])
def test_production_with_nothing_configured_names_the_secrets_to_set(service: str) -> None:
    said = refusal(service, bare_env(ENV="production"))
    prefix = service.upper()
    assert said.startswith(
        f"{service} refuses to start: refusing to start in production with placeholder "
        f"or short secrets: {prefix}_SHOP_API_KEY, {prefix}_OPS_API_KEY, "
        f"{prefix}_ORDER_TOKEN_SECRET"
    ), said


def real_secrets(service: str) -> dict[str, str]:
    prefix = service.upper()
    names = ("SHOP_API_KEY", "OPS_API_KEY", "ORDER_TOKEN_SECRET", "CARRIER_WEBHOOK_SECRET")
    return {f"{prefix}_{name}": f"{STRONG}{n}" for n, name in enumerate(names)}


@pytest.mark.parametrize("switch", SWITCHES)
def test_the_sandbox_carrier_refuses_to_run_in_production(switch: str) -> None:
    env = bare_env(**{switch: "production"}, **real_secrets("logistics"))
    said = refusal("logistics", {**env, "LOGISTICS_SANDBOX_ENABLED": "true"})
    assert said == (
        "logistics refuses to start: LOGISTICS_SANDBOX_ENABLED is set: the sandbox refuses "
        "to run in production (it is for development, the demo and the tests)"
    )


def test_payment_with_real_secrets_names_the_provider_it_lacks() -> None:
    said = refusal("payment", bare_env(ENV="production", **real_secrets("payment")))
    assert said == (
        "payment refuses to start: provider sandbox (used by default) refuses to run in production"
    )
    env = bare_env(ENV="production", PAYMENT_DEFAULT_PROVIDER="stripe", **real_secrets("payment"))
    said = refusal("payment", env)
    assert said == (
        "payment refuses to start: PAYMENT_STRIPE_API_KEY is not set for provider stripe "
        "(used by default)"
    )


def test_a_service_prefix_overrides_the_switch() -> None:
    """`<PREFIX>ENV` wins over `ENV`: one service may stay in staging while the rest run in
    production (staging refuses placeholders too, under its own name)."""
    said = refusal("order", bare_env(ENV="production", ORDER_ENV="staging"))
    assert said.startswith("order refuses to start: refusing to start in staging with ")


def test_an_environment_that_is_not_one_is_refused_by_name() -> None:
    said = refusal("returns", bare_env(ENV="prod"))
    assert said == (
        "returns refuses to start: ENV='prod' is not an environment "
        "(one of development, test, staging, production)"
    )
