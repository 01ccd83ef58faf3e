"""In production payment starts only with every provider it uses fully configured, never with
the sandbox, and says in one line what is missing; secrets may come from files."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.local.ports import free_port
from deploy.local.stripe_mock import StripeMock
from tests.support.infra import REPO, Infra
from tests.support.polling import eventually
from tests.support.services import skip_backlog
from tests.support.stripe import API_KEY, WEBHOOK_SECRET

STRONG = "prod-secret-" + "x" * 24


def production_env(**payment: str) -> dict[str, str]:
    """The process environment of a production payment service: real secrets, cards and
    wallets through Stripe, and `payment` (PAYMENT_ names without the prefix; "" unsets)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYMENT_")}
    values = {
        "ENV": "production",
        "SHOP_API_KEY": STRONG,
        "OPS_API_KEY": STRONG + "o",
        "ORDER_TOKEN_SECRET": STRONG + "t",
        "DEFAULT_PROVIDER": "stripe",
        "PROVIDERS_BY_METHOD": '{"card": "stripe", "wallet": "stripe"}',
        "STRIPE_API_KEY": API_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_SUCCESS_URL": "https://shop.example/orders/{order_id}",
        "PUBLIC_BASE_URL": "https://pay.shop.example",
        **payment,
    }
    env.update({f"PAYMENT_{k}": v for k, v in values.items() if v})
    env["PYTHONPATH"] = str(REPO)
    return env


def refusal(env: dict[str, str]) -> str:
    """What the service says when it refuses to start (it must refuse, at once)."""
    done = subprocess.run(
        [sys.executable, "-m", "services.payment"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f"one line, no traceback: {done.stderr}"
    return lines[0]


def test_a_provider_without_its_credentials_is_named() -> None:
    said = refusal(production_env(STRIPE_WEBHOOK_SECRET=""))
    assert said == (
        "payment refuses to start: PAYMENT_STRIPE_WEBHOOK_SECRET is not set "
        "for provider stripe (used by card, wallet, default)"
    )
    said = refusal(production_env(STRIPE_SUCCESS_URL="", PROVIDERS_BY_METHOD='{"card": "stripe"}'))
    assert said.endswith(
        "PAYMENT_STRIPE_SUCCESS_URL is not set for provider stripe (used by card, default)"
    )


def test_the_sandbox_refuses_to_run_in_production() -> None:
    said = refusal(production_env(PROVIDERS_BY_METHOD='{"card": "sandbox"}'))
    assert (
        said
        == "payment refuses to start: provider sandbox (used by card) refuses to run in production"
    )
    said = refusal(production_env(SANDBOX_ENABLED="true", WEBHOOK_SECRET=STRONG + "w"))
    assert "PAYMENT_SANDBOX_ENABLED" in said and "refuses to run in production" in said


def test_a_provider_nobody_configured_is_named() -> None:
    said = refusal(production_env(PROVIDERS_BY_METHOD='{"wallet": "paypal"}'))
    assert "'paypal' (used by wallet) is not configured" in said


def test_pay_for_me_links_need_the_public_address() -> None:
    said = refusal(production_env(PUBLIC_BASE_URL=""))
    assert said == (
        "payment refuses to start: PAYMENT_PUBLIC_BASE_URL is not set: pay-for-me links "
        "(provider stripe) lead through this service's public address"
    )


def test_development_placeholders_are_refused() -> None:
    said = refusal(production_env(STRIPE_API_KEY="dev-stripe-key-0000000000"))
    assert said.startswith("payment refuses to start:") and "PAYMENT_STRIPE_API_KEY" in said
    said = refusal(production_env(STRIPE_SUCCESS_URL="dev-shop/{order_id}"))
    assert "PAYMENT_STRIPE_SUCCESS_URL holds a development placeholder" in said


@pytest.fixture
def secret_files(tmp_path: Path) -> Iterator[dict[str, str]]:
    (tmp_path / "stripe-key").write_text(API_KEY + "\n")
    (tmp_path / "stripe-webhook").write_text(WEBHOOK_SECRET + "\n")
    yield {
        "STRIPE_API_KEY": "",
        "STRIPE_API_KEY_FILE": str(tmp_path / "stripe-key"),
        "STRIPE_WEBHOOK_SECRET": "",
        "STRIPE_WEBHOOK_SECRET_FILE": str(tmp_path / "stripe-webhook"),
    }


async def test_production_with_stripe_starts_with_secrets_from_files(
    infra: Infra, stripe_mock: StripeMock, secret_files: dict[str, str]
) -> None:
    suffix, port = f"-prod-{uuid.uuid4().hex[:8]}", free_port()
    await skip_backlog(infra.bootstrap, "payment", suffix)
    env = production_env(
        **secret_files,
        STRIPE_API_BASE=stripe_mock.api_base,
        DATABASE_URL=await infra.create_database("payment_prod"),
        KAFKA_BOOTSTRAP=infra.bootstrap,
        HTTP_PORT=str(port),
        CONSUMER_GROUP_SUFFIX=suffix,
    )
    log = (REPO / ".local" / "test" / f"payment-production{suffix}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.payment"], cwd=REPO, env=env, stdout=log, stderr=log
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def ready() -> bool:
                assert process.poll() is None, f"payment exited; see {log.name}"
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            assert await eventually(ready, timeout=60, what="payment ready in production")
            sandbox = await http.get("/sandbox/checkout/anything")
            assert sandbox.status_code == 404, "no sandbox pages in production"
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)
        log.close()
