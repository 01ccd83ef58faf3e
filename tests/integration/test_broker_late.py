"""A service started before its broker answers waits for it and starts, instead of dying.

The service is pointed at an address where nothing listens yet; only after it has been
waiting a while does that address start to lead to the tests' broker (a TCP relay, as a
broker coming up late would). The process must still be running then, and become ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid

import httpx

from deploy.local.ports import free_port
from shared.settings import service_env
from tests.support.infra import REPO, Infra
from tests.support.polling import eventually
from tests.support.services import skip_backlog

SERVICE = "payment"


async def _relay(to_host: str, to_port: int, port: int) -> asyncio.Server:
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(to_host, to_port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    return await asyncio.start_server(serve, "127.0.0.1", port)


async def test_a_service_started_before_its_broker_waits_for_it(
    infra: Infra, database: str
) -> None:
    broker_host, _, broker_port = infra.bootstrap.split(",")[0].rpartition(":")
    late, http_port = free_port(), free_port()
    suffix = f"-late-{uuid.uuid4().hex[:8]}"
    await skip_backlog(infra.bootstrap, SERVICE, suffix)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.update(
        service_env(
            SERVICE,
            env="test",
            kafka_bootstrap=f"127.0.0.1:{late}",
            database_url=database,
            http_port=http_port,
            consumer_group_suffix=suffix,
        )
    )
    process = subprocess.Popen(
        [sys.executable, "-m", f"services.{SERVICE}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    relay: asyncio.Server | None = None
    try:
        # the service is left without a broker for a while: this returns early only if it died
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(process.wait, 6)
        assert process.poll() is None, "the service died while its broker was away"

        relay = await _relay(broker_host, int(broker_port), late)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=5) as c:

            async def ready() -> bool:
                assert process.poll() is None, "the service died once its broker came"
                try:
                    return (await c.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, timeout=60, interval=0.3, what=f"{SERVICE} ready")
        process.send_signal(signal.SIGTERM)  # the relay runs in this loop: wait off it
        output, _ = await asyncio.to_thread(process.communicate, None, 30)
        assert process.returncode == 0, output[-3000:]
        assert b"broker not ready yet; retrying" in output
    finally:
        if process.poll() is None:
            process.kill()
        if relay is not None:
            relay.close()
