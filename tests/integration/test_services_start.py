"""Each service runs as `python -m services.<name>`: starts, migrates, is ready, stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import httpx
import pytest

from deploy.local.ports import free_port
from shared.contracts.registry import SERVICES
from shared.settings import service_env
from tests.support.infra import REPO, Infra
from tests.support.polling import eventually
from tests.support.services import skip_backlog


@pytest.mark.parametrize("service", SERVICES)
async def test_service_starts_is_ready_and_stops_cleanly(
    service: str, infra: Infra, database: str
) -> None:
    port = free_port()
    suffix = f"-start-{uuid.uuid4().hex[:8]}"  # a new deployment: it starts after the history
    await skip_backlog(infra.bootstrap, service, suffix)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.update(
        service_env(
            service,
            env="test",
            kafka_bootstrap=infra.bootstrap,
            database_url=database,
            http_port=port,
            consumer_group_suffix=suffix,
        )
    )
    process = subprocess.Popen(
        [sys.executable, "-m", f"services.{service}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:

            async def ready() -> httpx.Response | None:
                if process.poll() is not None:
                    raise AssertionError(process.stdout.read().decode()[-3000:])  # type: ignore[union-attr]
                try:
                    response = await client.get("/readyz")
                except httpx.TransportError:
                    return None
                return response if response.status_code == 200 else None

            readiness = await eventually(ready, timeout=60, what=f"{service} ready")
            checks = readiness.json()["checks"]
            assert checks["database"]["ok"] and checks["kafka"]["ok"]
            assert checks["migrations"] == {"ok": True, "pending": []}
            alive = await client.get("/healthz")
            assert alive.status_code == 200 and alive.json()["service"] == service
            metrics = await client.get("/metrics")
            assert "fulfil_outbox_backlog" in metrics.text
            spec = await client.get("/openapi.json")
            assert spec.status_code == 200 and "/healthz" in spec.json()["paths"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        output = process.stdout.read().decode()  # type: ignore[union-attr]
        assert "service stopped" in output
        assert "Traceback" not in output, output[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
