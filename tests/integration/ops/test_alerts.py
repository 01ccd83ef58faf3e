"""A real Prometheus (deploy/local/prometheus.py) and the alert rules in it: a server
scrapes its jobs, reloads and stops; a poison message makes DeadLettersAppearing fire.

The payment service runs on the test stack; Prometheus scrapes it every second and
evaluates the real rules, the dead-letter alert's 5-minute window shortened to 10 s (and
every `for:` to 0 s) so the test waits seconds, not minutes."""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml

from deploy.local.prometheus import RULES, Prometheus
from services.payment.app import build
from services.payment.settings import PaymentSettings
from shared.contracts.events.order import OrderPlaced
from shared.contracts.registry import topic_for_event
from shared.runtime import Runtime
from tests.support.events import new_order_id
from tests.support.infra import Infra
from tests.support.kafka import publish_raw
from tests.support.polling import eventually
from tests.support.services import service

# Under the checkout (pytest's own temporary directories are shared and pruned).
SERVERS = Path(__file__).resolve().parents[3] / ".local" / "test" / "alerts"
WINDOW = "10s"
ALERT = "DeadLettersAppearing"


def quick_rules(directory: Path) -> Path:
    """The real rules, with the dead-letter window shortened and nothing pending first."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fulfil.yml"
    groups = yaml.safe_load((RULES / "fulfil.yml").read_text())["groups"]
    for group in groups:
        for rule in group["rules"]:
            if rule.get("alert") == ALERT:
                assert "5m" in rule["expr"], "the window this test shortens"
                rule["expr"] = rule["expr"].replace("5m", WINDOW)
            if "alert" in rule:
                rule["for"] = "0s"
    path.write_text(json.dumps({"groups": groups}))
    return path


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def payment(infra: Infra) -> AsyncIterator[Runtime]:
    dsn = await infra.create_database("alerts_payment")
    async with service(build, PaymentSettings, infra, dsn) as runtime:
        yield runtime


@pytest.fixture
def prometheus(payment: Runtime) -> Iterator[Prometheus]:
    base = SERVERS / uuid.uuid4().hex[:10]
    server = Prometheus(base)
    try:
        server.start(
            {"payment": f"127.0.0.1:{payment.settings.http_port}"},
            scrape_interval="1s",
            rule_files=[quick_rules(base)],
        )
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


async def query(client: httpx.AsyncClient, expr: str) -> list[dict[str, Any]]:
    answer = await client.get("/api/v1/query", params={"query": expr})
    answer.raise_for_status()
    return list(answer.json()["data"]["result"])


async def firing(client: httpx.AsyncClient, name: str) -> list[dict[str, Any]]:
    answer = await client.get("/api/v1/alerts")
    answer.raise_for_status()
    alerts = answer.json()["data"]["alerts"]
    return [a for a in alerts if a["labels"]["alertname"] == name and a["state"] == "firing"]


class Metrics(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"# TYPE fulfil_outbox_backlog gauge\nfulfil_outbox_backlog 3\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


async def test_a_server_scrapes_its_jobs_reloads_and_stops(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = SERVERS / uuid.uuid4().hex[:10]
    base.mkdir(parents=True)
    monkeypatch.chdir(base)
    server = Prometheus(Path("relative"))  # as `--dir .local` gives it
    try:
        url = server.start({"notify": target}, scrape_interval="1s")
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            found = await eventually(
                lambda: query(client, 'fulfil_outbox_backlog{job="notify"}'), what="a scrape"
            )
            assert found[0]["value"][1] == "3"
            pid = server.pid()
            assert server.start({"returns": target}, scrape_interval="1s") == url
            assert server.pid() == pid, "a second start reloads the running server"
            await eventually(
                lambda: query(client, 'fulfil_outbox_backlog{job="returns"}'), what="new job"
            )
        assert server.status() == {"pid": pid, "url": url, "ready": True}
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
    assert server.pid() is None and not server.ready()


async def test_a_poison_message_fires_dead_letters_appearing(
    infra: Infra, payment: Runtime, prometheus: Prometheus
) -> None:
    topic = topic_for_event(OrderPlaced.TYPE).name
    async with httpx.AsyncClient(base_url=prometheus.url, timeout=5) as client:
        # Prometheus knows the service long enough that a new series is news, not history.
        await eventually(
            lambda: query(client, f'up{{job="payment"}} offset {WINDOW} == 1'),
            timeout=30,
            interval=0.5,
            what="ten seconds of payment's scrapes",
        )
        rules = (await client.get("/api/v1/rules")).json()["data"]["groups"]
        names = {rule["name"] for group in rules for rule in group["rules"]}
        assert {ALERT, "ServiceDown", "NoOrdersPlaced"} <= names, "the real rules are loaded"
        assert await firing(client, ALERT) == [], "quiet before the poison"

        await publish_raw(infra.bootstrap, topic, b"{not json", key=new_order_id().encode())

        alerts = await eventually(
            lambda: firing(client, ALERT), timeout=60, interval=0.5, what=f"{ALERT} firing"
        )
    labels = alerts[0]["labels"]
    assert (labels["job"], labels["topic"], labels["reason"]) == ("payment", topic, "undecodable")
    assert labels["severity"] == "warning"
    assert alerts[0]["annotations"]["runbook_url"] == "docs/operations.md#deadlettersappearing"
