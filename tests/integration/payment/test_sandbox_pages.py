"""The sandbox pages and the webhook refuse a forged or garbled id with a 4xx, never a 5xx."""

from __future__ import annotations

import httpx
import pytest

from shared import signing
from shared.runtime import Runtime

FORGED = ["abc.é", "abc.%E2%9C%93", "%C3%A9.%C3%A9", "abc.\u00ff\u00ff"]


@pytest.mark.parametrize("session_id", FORGED)
async def test_a_session_id_with_non_ascii_after_the_dot_is_not_found(
    payment: Runtime, client: httpx.AsyncClient, session_id: str
) -> None:
    for method, path, body in [
        ("GET", f"/sandbox/checkout/{session_id}", None),
        ("GET", f"/sandbox/pay/{session_id}", None),
        ("POST", f"/sandbox/checkout/{session_id}/complete", {"outcome": "succeed"}),
        ("POST", f"/sandbox/pay/{session_id}/complete", {"outcome": "succeed"}),
    ]:
        response = await client.request(method, path, json=body)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"] == "unknown_session"


async def test_a_webhook_signature_with_non_ascii_is_refused(
    payment: Runtime, client: httpx.AsyncClient
) -> None:
    body = b'{"id": "evt_x"}'
    header = signing.sign("dev-webhook-secret", body).encode() + b"\xe9"
    response = await client.post(
        "/v1/webhooks/sandbox", content=body, headers={signing.HEADER: header}
    )
    assert 400 <= response.status_code < 500, response.text
