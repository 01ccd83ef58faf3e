"""`make up` that fails stops what it started, and only that."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local import stack as stack_module
from deploy.local.stack import Stack


class FakeServer:
    def __init__(self, *, running: bool = False, fails: bool = False) -> None:
        self.running = running
        self.fails = fails

    def is_running(self) -> bool:
        return self.running

    def start(self) -> str:
        if self.fails:
            raise RuntimeError("port taken by another process")
        self.running = True
        return "127.0.0.1:9092"

    def stop(self) -> None:
        self.running = False


class FakeStack(Stack):
    def __init__(self, base: Path, kafka: FakeServer, postgres: FakeServer) -> None:
        super().__init__(base)
        self._kafka, self._postgres = kafka, postgres

    @property
    def kafka(self) -> FakeServer:  # type: ignore[override]
        return self._kafka

    @property
    def postgres(self) -> FakeServer:  # type: ignore[override]
        return self._postgres


@pytest.fixture(autouse=True)
def _installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack_module, "ensure_installed", lambda: Path("/usr/bin"))


def test_a_failed_up_stops_the_broker_it_started(tmp_path: Path) -> None:
    kafka, postgres = FakeServer(), FakeServer(fails=True)

    with pytest.raises(RuntimeError, match="port taken"):
        FakeStack(tmp_path, kafka, postgres).up()

    assert not kafka.running


def test_a_failed_up_keeps_a_broker_that_ran_before(tmp_path: Path) -> None:
    kafka, postgres = FakeServer(running=True), FakeServer(fails=True)

    with pytest.raises(RuntimeError, match="port taken"):
        FakeStack(tmp_path, kafka, postgres).up()

    assert kafka.running
