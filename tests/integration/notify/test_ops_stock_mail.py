"""Low-stock warnings reach a person: one email to the operations address per SKU per
warning episode, in the operations locale, through the same sender as customer messages."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from deploy.local.sinks import Sinks
from services.notify.content import span
from shared.contracts.envelope import Envelope, Event
from shared.contracts.events.logistics import LowStock, StockRanLow
from shared.runtime import Runtime
from tests.integration.notify.support import notify
from tests.support.db import handled, rows
from tests.support.events import now, resend
from tests.support.infra import Infra
from tests.support.polling import eventually

OPS = "ops@shop.example"


def _warning(event: Event, **at: Any) -> Envelope:
    return Envelope.wrap(event, producer="logistics", order_id=None, **at)


def _low(sku: str, available: int = 2) -> StockRanLow:
    return StockRanLow(sku=sku, available=available, threshold=5, warehouse="SH-1")


def _new_sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:10].upper()}"


def _mails(sinks: Sinks, sku: str) -> list[dict[str, Any]]:
    return [m for m in sinks.store.messages("email", to=OPS) if sku in m["subject"]]


async def _mailed(sinks: Sinks, sku: str) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        return _mails(sinks, sku)

    return await eventually(probe, timeout=30, what=f"the operations mail about {sku}")


async def _taken(runtime: Runtime, *envelopes: Envelope) -> None:
    async def probe() -> bool:
        return await handled(runtime, *envelopes)

    await eventually(probe, timeout=30, what="the warnings consumed")


async def _quiet_sender(runtime: Runtime) -> None:
    """Waits until nothing recorded is left to send (what was recorded has gone out)."""

    async def probe() -> bool:
        left = await rows(runtime, "SELECT id FROM messages WHERE status = 'pending'")
        return not left

    await eventually(probe, what="the sender done")


async def test_a_warning_mails_operations_once_per_episode_in_their_locale(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    sku, retired_sku = _new_sku(), _new_sku()
    first = _warning(_low(sku))
    again = _warning(_low(sku, available=1))  # the same shortage, warned again
    async with notify(infra, database, sinks, ops_email=OPS, ops_locale="zh-CN") as runtime:
        await resend(infra, first)
        [mail] = await _mailed(sinks, sku)
        await resend(infra, first, again)  # a redelivery, then a second warning
        await resend(infra, _warning(LowStock(sku=retired_sku, available=0, threshold=3)))
        await _taken(runtime, first, again)
        [sold_out] = await _mailed(sinks, retired_sku)
        await _quiet_sender(runtime)
        recorded = await rows(
            runtime,
            "SELECT order_id, template, source_event_id, status FROM messages WHERE recipient = $1"
            " ORDER BY seq",
            OPS,
        )
    assert mail["subject"] == f"库存不足：{sku}（SH-1仓）"  # noqa: RUF001
    assert "可售 2 件，低于预警线 5 件" in mail["text"]  # noqa: RUF001
    assert "6小时内不再重复" in mail["text"]
    assert "<p>" in mail["html"] and "orders/" not in mail["html"], "no order button"
    assert sold_out["subject"] == f"已售罄：{retired_sku}", "the retired v1 is read"  # noqa: RUF001
    assert len(_mails(sinks, sku)) == 1, "no second mail within the episode"
    assert sinks.store.duplicates == 0
    assert [(r["template"], r["source_event_id"], r["status"]) for r in recorded] == [
        ("stock_ran_low", str(first.event_id), "sent"),
        ("stock_ran_low", recorded[1]["source_event_id"], "sent"),
    ]
    assert all(r["order_id"] is None for r in recorded)


def test_the_quiet_period_reads_in_each_locale() -> None:
    assert [span(6 * 3600, locale) for locale in ("en", "zh-CN", "zh-TW")] == [
        "6 hours",
        "6小时",
        "6小時",
    ]
    assert (span(86400, "en"), span(5400, "en"), span(60, "en")) == (
        "1 day",
        "90 minutes",
        "1 minute",
    )


async def test_a_warning_after_the_quiet_period_mails_again(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    sku, old_sku = _new_sku(), _new_sku()
    first = _warning(_low(sku))
    later = _warning(_low(sku), occurred_at=now() + timedelta(seconds=120))
    history = _warning(_low(old_sku), occurred_at=now() - timedelta(days=2))
    settings = {"ops_email": OPS, "ops_stock_quiet_seconds": 60}
    async with notify(infra, database, sinks, **settings) as runtime:
        await resend(infra, history, first)
        await _mailed(sinks, sku)
        await resend(infra, later)
        await _taken(runtime, history)

        async def both() -> list[dict[str, Any]]:
            found = _mails(sinks, sku)
            return found if len(found) == 2 else []

        mails = await eventually(both, timeout=30, what="a mail for the new episode")
    assert [m["subject"] for m in mails] == [f"Low stock: {sku} in SH-1"] * 2
    assert "not mailed for 1 minute" in mails[0]["text"]
    assert _mails(sinks, old_sku) == [], "a warning two days old is history, not news"


async def test_without_an_operations_address_warnings_are_consumed_and_ignored(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    sku = _new_sku()
    warning = _warning(_low(sku))
    async with notify(infra, database, sinks) as runtime:
        await resend(infra, warning)
        await _taken(runtime, warning)
        recorded = await rows(runtime, "SELECT id FROM messages")
    assert recorded == []
    assert sinks.store.messages("email") == []
