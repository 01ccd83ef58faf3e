"""A background loop that dies takes the service down, so that its supervisor restarts it:
readiness fails with the task named and the process exits non-zero."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from shared import service_main
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import ServiceSettings

NO_MIGRATIONS = Path(__file__).parent / "no-such-migrations"


def definition() -> ServiceDefinition:
    return ServiceDefinition("probe", ServiceSettings(env="test"), NO_MIGRATIONS, deps=None)


async def dies() -> None:
    await asyncio.sleep(0)
    raise RuntimeError("a bug in the loop")


async def test_a_dead_background_task_fails_readiness() -> None:
    runtime = Runtime(definition())
    before = await runtime.readiness()
    assert before["background"] == {"ok": True}

    runtime._spawn(dies(), "timers")
    await asyncio.wait_for(runtime.failed.wait(), 5)

    checks = await runtime.readiness()
    assert checks["background"]["ok"] is False
    assert "probe:timers" in checks["background"]["failed"]
    assert "a bug in the loop" in checks["background"]["failed"]


async def test_a_task_cancelled_at_stop_is_no_failure() -> None:
    runtime = Runtime(definition())
    runtime._spawn(asyncio.sleep(60), "timers")
    await runtime.stop()
    assert runtime.failed_task is None
    assert not runtime.failed.is_set()


def test_the_process_exits_non_zero_when_a_background_task_dies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stopped: list[bool] = []

    async def start(self: Runtime, **_: Any) -> None:
        self._spawn(dies(), "outbox-relay")

    async def stop(self: Runtime) -> None:
        self._stopping = True
        stopped.append(True)

    monkeypatch.setattr(Runtime, "start", start)
    monkeypatch.setattr(Runtime, "stop", stop)
    with pytest.raises(SystemExit) as exited:
        service_main.run_service(definition)
    assert exited.value.code == 1
    assert stopped == [True]
