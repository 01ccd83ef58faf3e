"""The web pages' process in the local stack: `python -m web`, a client of the services'
public APIs at the URLs the stack gave them (no database; the console's order view reads
the order's events from the broker, as `fulfil order` does)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

WEB = "web"
MODULE = "web"


def page_url(port: int) -> str:
    """Where the pages answer; notify's messages link there (NOTIFY_ORDER_PAGE_URL)."""
    return f"http://127.0.0.1:{port}"


def web_env(
    repo: Path,
    port: int,
    services: dict[str, Any],
    creds: dict[str, str],
    bootstrap: str = "127.0.0.1:9092",
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "WEB_ENV": "development",
            "WEB_HTTP_HOST": "127.0.0.1",
            "WEB_HTTP_PORT": str(port),
            "WEB_KAFKA_BOOTSTRAP": bootstrap,
            "WEB_OPS_API_KEY": creds["ops_api_key"],
            "WEB_CSRF_SECRET": creds["csrf_secret"],
            **{f"WEB_{name.upper()}_URL": svc["url"] for name, svc in services.items()},
            "PYTHONPATH": str(repo),
        }
    )
    return env
