"""The notify tests' SMTP and SMS sinks, one pair per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from deploy.local.ports import free_ports
from deploy.local.sinks import Sinks


@pytest.fixture
async def sinks() -> AsyncIterator[Sinks]:
    smtp_port, http_port = free_ports(2)
    started = await Sinks(smtp_port, http_port).start()
    try:
        yield started
    finally:
        await started.stop()
