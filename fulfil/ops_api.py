"""Calling a service's ops API with the operations key; refusals become one-line errors."""

from __future__ import annotations

from typing import Any

import httpx

from fulfil.config import Config, OpsError
from shared.dead_letters import ACTOR_HEADER

PAGE = 500  # the most an ops list route returns at once


def pages(
    config: Config,
    service: str,
    path: str,
    key: str,
    limit: int,
    params: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `limit` items of a paged ops list (`key`, followed by `next_cursor`), and the
    cursor of what is left (None: nothing more)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(found) < limit:
        asked = {**(params or {}), "limit": min(PAGE, limit - len(found))}
        if cursor is not None:
            asked["cursor"] = cursor
        page = call(config, service, "GET", path, params=asked)
        found.extend(page[key])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return found, cursor


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
