"""In production logistics starts only with a real carrier for every courier it ships with,
never with the sandbox carrier, and says in one line which setting is missing; Kuaidi100's
credentials may come from files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.infra import REPO

STRONG = "prod-secret-" + "x" * 24


def production_env(**logistics: str) -> dict[str, str]:
    """A production logistics service's environment: real secrets, SF and ZTO through
    Kuaidi100, and `logistics` (LOGISTICS_ names without the prefix; "" unsets)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGISTICS_")}
    values = {
        "ENV": "production",
        "SHOP_API_KEY": STRONG,
        "OPS_API_KEY": STRONG + "o",
        "ORDER_TOKEN_SECRET": STRONG + "t",
        "PUBLIC_BASE_URL": "https://logistics.shop.example",
        "COURIERS": '["sf", "zto"]',
        "KUAIDI100_COURIERS": '{"sf": "shunfeng", "zto": "zhongtong"}',
        "KUAIDI100_KEY": "kdKey0123ab",
        "KUAIDI100_CUSTOMER": "4D5C3B2A19087F6E5D4C3B2A19087F6E",
        "KUAIDI100_SECRET": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "KUAIDI100_SALT": "salt-" + "y" * 27,
        "KUAIDI100_SENDER": '{"name": "Shop", "mobile": "13900000000", "printAddr": "深圳"}',
        **logistics,
    }
    env.update({f"LOGISTICS_{k}": v for k, v in values.items() if v})
    env["PYTHONPATH"] = str(REPO)
    return env


def refusal(env: dict[str, str]) -> str:
    """What the service says when it refuses to start (it must refuse, at once)."""
    done = subprocess.run(
        [sys.executable, "-m", "services.logistics"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f"one line, no traceback: {done.stderr}"
    return lines[0]


def test_a_missing_kuaidi100_setting_is_named() -> None:
    said = refusal(production_env(KUAIDI100_SALT=""))
    assert said == (
        "logistics refuses to start: LOGISTICS_KUAIDI100_SALT (the push signature salt) "
        "is not set for carrier kuaidi100 (used by sf, zto)"
    )
    said = refusal(production_env(KUAIDI100_CUSTOMER=""))
    assert "LOGISTICS_KUAIDI100_CUSTOMER (the customer id) is not set" in said
    said = refusal(production_env(PUBLIC_BASE_URL=""))
    assert said.endswith("LOGISTICS_PUBLIC_BASE_URL is not set: Kuaidi100 pushes tracking to it")


def test_the_sandbox_carrier_refuses_to_run_in_production() -> None:
    said = refusal(production_env(COURIERS='["sf", "zto", "yto"]'))
    assert said == (
        "logistics refuses to start: courier yto has no real carrier "
        "(LOGISTICS_KUAIDI100_COURIERS): the sandbox carrier refuses to run in production"
    )
    said = refusal(production_env(SANDBOX_ENABLED="true"))
    assert said == (
        "logistics refuses to start: LOGISTICS_SANDBOX_ENABLED is set: the sandbox refuses "
        "to run in production (it is for development, the demo and the tests)"
    )


def test_placeholders_are_refused() -> None:
    said = refusal(production_env(KUAIDI100_KEY="dev-kuaidi100-key"))
    assert said.endswith(
        "LOGISTICS_KUAIDI100_KEY holds a development placeholder (carrier kuaidi100)"
    )
    said = refusal(production_env(KUAIDI100_SALT="short"))
    assert "LOGISTICS_KUAIDI100_SALT" in said and said.startswith("logistics refuses to start:")


def test_kuaidi100_credentials_may_come_from_files(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("kdKey0123ab\n")
    (tmp_path / "secret").write_text("0f1e2d3c4b5a69788796a5b4c3d2e1f0\n")
    env = production_env(KUAIDI100_KEY="", KUAIDI100_SECRET="", PUBLIC_BASE_URL="")
    env["LOGISTICS_KUAIDI100_KEY_FILE"] = str(tmp_path / "key")
    env["LOGISTICS_KUAIDI100_SECRET_FILE"] = str(tmp_path / "secret")
    # the key and the secret are read from their files: what is still missing comes next
    said = refusal(env)
    assert said.endswith("LOGISTICS_PUBLIC_BASE_URL is not set: Kuaidi100 pushes tracking to it")
