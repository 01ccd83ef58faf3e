"""The notify tests' SMTP and SMS sinks, one pair per test, and the SMS providers' stubs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from deploy.local.ports import free_ports
from deploy.local.sinks import Sinks
from tests.support.sms_providers import SmsProviders


@pytest.fixture
async def sinks() -> AsyncIterator[Sinks]:
    smtp_port, http_port = free_ports(2)
    started = await Sinks(smtp_port, http_port).start()
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def providers() -> AsyncIterator[SmsProviders]:
    """Aliyun and Twilio; they hang (3 s) longer than notify waits in the tests (1 s)."""
    stub = await SmsProviders(hang_seconds=3.0).start()
    try:
        yield stub
    finally:
        await stub.stop()
