"""Calling a service's ops API with the operations key; refusals become one-line errors."""

from __future__ import annotations

from typing import Any

import httpx

from fulfil.config import Config, OpsError
from shared.dead_letters import ACTOR_HEADER


def call(config: Config, service: str, method: str, path: str, **kwargs: Any) -> Any:
    url = config.service_url(service)
    headers = {"Authorization": f"Bearer {config.ops_key}", ACTOR_HEADER: config.actor}
    try:
        response = httpx.request(method, f"{url}{path}", headers=headers, timeout=30, **kwargs)
    except httpx.HTTPError as exc:
        raise OpsError(f"{service} at {url} does not answer: {exc}") from exc
    if response.status_code >= 400:
        try:
            body = response.json()
            message = body.get("message") or body.get("error") or response.text
        except ValueError:
            message = response.text.strip()[:200]
        raise OpsError(f"{service}: {message} (HTTP {response.status_code})")
    return response.json()
