"""The console's pages on the sample panels: signing in, what the overview shows, and the
forms it refuses (no session, no anti-forgery token)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from web.app import create_app
from web.console import session
from web.console.samples import ConsoleSamples
from web.settings import WebSettings

KEY = "dev-ops-key"


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = WebSettings()
    with TestClient(create_app(settings, ConsoleSamples(settings))) as client:
        yield client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the form carries its anti-forgery token"
    return found.group(1)


def _signed_in(client: TestClient, actor: str = "ana") -> None:
    form = client.get("/console/login")
    answer = client.post(
        "/console/login",
        data={"csrf_token": _csrf(form.text), "actor": actor, "key": KEY},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and KEY not in cookie


def test_without_a_session_every_page_leads_to_the_login(client: TestClient) -> None:
    for path in ("/console", "/console/search?q=x", "/console/dead-letters/payment"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    assert client.get("/console/funnel").status_code == 401


def test_a_wrong_key_or_a_forged_form_does_not_sign_in(client: TestClient) -> None:
    token = _csrf(client.get("/console/login").text)
    wrong = client.post("/console/login", data={"csrf_token": token, "actor": "a", "key": "x"})
    forged = client.post("/console/login", data={"actor": "a", "key": KEY})
    assert wrong.status_code == 403 and session.COOKIE not in wrong.headers.get("set-cookie", "")
    assert forged.status_code == 403


def test_the_overview_shows_every_panel(client: TestClient) -> None:
    _signed_in(client)
    page = client.get("/console")
    assert page.status_code == 200
    for shown in ("1284", "ord_sample_stuck", "rr_sample_1", "TEA-01", "2 to repair"):
        assert shown in page.text
    assert "nonce-" in page.headers["content-security-policy"]


def test_a_replay_needs_the_forms_token_and_says_what_happened(client: TestClient) -> None:
    _signed_in(client)
    letters = client.get("/console/dead-letters/payment")
    refused = client.post("/console/dead-letters/payment/17/replay", data={})
    done = client.post(
        "/console/dead-letters/payment/17/replay",
        data={"csrf_token": _csrf(letters.text)},
    )
    assert refused.status_code == 403
    assert done.status_code == 200 and "Dead letter 17 replayed." in done.text


def test_a_refusal_needs_a_reason(client: TestClient) -> None:
    _signed_in(client)
    token = _csrf(client.get("/console").text)
    empty = client.post("/console/refunds/rr_sample_1/reject", data={"csrf_token": token})
    assert "Say why the refund is refused." in empty.text


def test_the_search_lists_contacts_masked(client: TestClient) -> None:
    _signed_in(client)
    page = client.get("/console/search", params={"q": "+8613800138000"})
    assert (
        "ord_sample_shipped" in page.text and "+8613800138000" not in page.text.split("</form>")[-1]
    )
