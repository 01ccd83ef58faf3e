"""The whole system as real processes, driven only through its public edges."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from deploy.demo.shop import Edges, Shop
from deploy.local import stripe_mock as stripe_mock_server
from deploy.local.stripe_mock import StripeMock
from tests.support.infra import REPO, Infra
from tests.support.system import start_system

# Windows and timers in seconds; the carrier moves only when told (tests decide).
E2E_ENV = {
    "ORDER_PAYMENT_WINDOW_SECONDS": "10",
    "ORDER_AUTO_CONFIRM_SECONDS": "8",
    "LOGISTICS_SANDBOX_AUTO_ADVANCE_SECONDS": "0",
    "LOGISTICS_DEMO_CATALOGUE": "false",
    "LOGISTICS_SHIP_DELAY_SECONDS": "4",
    "RETURNS_NOT_RECEIVED_AFTER_SECONDS": "1",
    "RETURNS_RETURN_WINDOW_SECONDS": "600",
    "NOTIFY_QUIET_HOURS_START": "00:00",
    "NOTIFY_QUIET_HOURS_END": "00:00",
    "NOTIFY_REMINDER_OFFSETS_SECONDS": "[]",
    "NOTIFY_REMINDER_BEFORE_CLOSE_SECONDS": "6",
    "NOTIFY_REMINDER_MIN_GAP_SECONDS": "1",
    "NOTIFY_SENDER_POLL_SECONDS": "0.2",
    "PAYMENT_REFUND_RETRY_BASE_SECONDS": "1",
}


@pytest.fixture(scope="module")
async def system(infra: Infra, request: pytest.FixtureRequest) -> AsyncIterator[dict[str, Any]]:
    """The whole system for one test module; a module's `SYSTEM_ENV` adds to E2E_ENV."""
    stack, state = await start_system(
        infra, {**E2E_ENV, **getattr(request.module, "SYSTEM_ENV", {})}
    )
    try:
        yield state
    finally:
        stack.stop_processes()


@pytest.fixture(scope="module")
async def shop(system: dict[str, Any]) -> AsyncIterator[Shop]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield Shop(Edges.from_stack(system), client)


@pytest.fixture(scope="module")
def stripe_mock(request: pytest.FixtureRequest) -> Iterator[StripeMock]:
    """stripe-mock for one module's system, logging to a file named after the module."""
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    mock = stripe_mock_server.start(REPO / ".local" / "test" / f"stripe-mock-{name}.log")
    try:
        yield mock
    finally:
        mock.stop()
