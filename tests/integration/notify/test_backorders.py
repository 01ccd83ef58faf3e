"""Backorders told to the customer on the real broker and database: the question with its
deadline (at once, even at night: the deadline runs), then what became of the order and
each new restock date, each once per channel, in the customer's language; an event
delivered twice tells nothing more."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from deploy.local.sinks import Sinks
from shared.contracts.events.common import LineQuantity
from shared.contracts.events.logistics import (
    BackorderDropped,
    BackorderFilled,
    BackorderLine,
    BackorderRestockDateChanged,
    BackorderWaiting,
    StockBackordered,
)
from tests.integration.notify.support import notify, order_placed, received
from tests.support.db import rows, until_handled
from tests.support.events import new_order_id, resend, send, send_all
from tests.support.infra import Infra

SHORT = BackorderLine(
    line_id="l1", sku="TEE-RED-M", name="Cotton T-shirt", variant="Red / M", quantity=1, held=0
)


def backordered(default: str = "ship_available") -> StockBackordered:
    return StockBackordered(
        lines=(SHORT,),
        choose_by=datetime(2026, 12, 6, 2, 0, tzinfo=UTC),  # 10:00 in Shanghai
        default_choice=default,  # type: ignore[arg-type]
        restock_expected=date(2026, 12, 9),
    )


async def _told(runtime: object, order_id: str) -> list[tuple[str, str, str]]:
    found = await rows(
        runtime,  # type: ignore[arg-type]
        "SELECT template, channel, locale FROM messages WHERE order_id = $1 ORDER BY seq",
        order_id,
    )
    return sorted((r["template"], r["channel"], r["locale"]) for r in found)


async def test_the_question_then_the_wait_then_the_fill_each_told_once_per_channel(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id, locale="zh-CN")
    async with notify(infra, database, sinks) as runtime:
        await send_all(infra, order_id, placed)
        question = await send(infra, backordered(), order_id)
        await resend(infra, question)  # delivered twice
        waiting = BackorderWaiting(lines=(SHORT,), restock_expected=None, chosen_by="customer")
        await send(infra, waiting, order_id)
        filled = BackorderFilled(
            lines=(LineQuantity(line_id="l1", sku="TEE-RED-M", quantity=1),),
            filled_at=datetime.now(UTC),
        )
        last = await send(infra, filled, order_id)
        await resend(infra, last)
        await until_handled(runtime, last)
        got = await received(sinks, placed.contact, 8)  # confirmation + three, two channels
        told = await _told(runtime, order_id)
    templates = ("order_confirmation", "stock_backordered", "backorder_waiting", "backorder_filled")
    assert told == sorted((t, c, "zh-CN") for t in templates for c in ("email", "sms"))
    asked = [m for m in got if "缺货" in m["text"] and "先发有货商品" in m["text"]]
    assert {m["channel"] for m in asked} == {"email", "sms"}
    for message in asked:
        assert "2026年12月6日 10:00" in message["text"], "the deadline where the customer is"
        assert "2026年12月9日" in message["text"]
        assert f"https://shop.example/orders/{order_id}" in message["text"]
    assert any("到货时间暂未确定" in m["text"] for m in got), "the wait, with no date known"
    assert sum("即将整单发货" in m["text"] for m in got) == 2


async def test_at_night_the_question_goes_at_once_and_the_outcome_waits_for_the_morning(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()
    order_id = new_order_id()
    placed = order_placed(order_id, locale="en", time_zone="UTC", due_in=86400)
    async with notify(
        infra, database, sinks, quiet_hours_start=start.isoformat(), quiet_hours_end=end.isoformat()
    ) as runtime:
        await send_all(infra, order_id, placed)
        await send(infra, backordered(default="wait"), order_id)
        dropped = await send(
            infra, BackorderDropped(dropped=(SHORT,), chosen_by="default"), order_id
        )
        await until_handled(runtime, dropped)
        got = await received(sinks, placed.contact, 4)  # confirmation and question, now
        held = await rows(
            runtime,
            "SELECT channel, status, send_after FROM messages WHERE order_id = $1"
            " AND template = 'backorder_dropped'",
            order_id,
        )
    asked = [m for m in got if "out of stock" in m["text"]]
    assert {m["channel"] for m in asked} == {"email", "sms"}
    assert all("wait" in m["text"] for m in asked), "the default told is the shop's"
    assert sorted(r["channel"] for r in held) == ["email", "sms"]
    assert all(r["status"] == "pending" and r["send_after"] > now for r in held)


async def test_each_new_restock_date_is_told_once_per_channel_and_a_duplicate_tells_nothing(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id, locale="en")
    later = SHORT.model_copy(update={"restock_expected": date(2026, 12, 16)})
    async with notify(infra, database, sinks) as runtime:
        await send_all(infra, order_id, placed)
        moved = BackorderRestockDateChanged(lines=(later,), restock_expected=date(2026, 12, 16))
        first = await send(infra, moved, order_id)
        await resend(infra, first)  # delivered twice
        cleared = BackorderRestockDateChanged(lines=(SHORT,), restock_expected=None)
        last = await send(infra, cleared, order_id)
        await resend(infra, last)
        await until_handled(runtime, last)
        got = await received(sinks, placed.contact, 6)  # confirmation + two, two channels
        told = await _told(runtime, order_id)
    templates = ("order_confirmation", "backorder_restock_changed", "backorder_restock_changed")
    assert told == sorted((t, c, "en") for t in templates for c in ("email", "sms"))
    dated = [m for m in got if "16 Dec 2026" in m["text"]]
    undated = [m for m in got if "no longer" in m["text"]]
    assert sorted(m["channel"] for m in dated) == ["email", "sms"]
    assert sorted(m["channel"] for m in undated) == ["email", "sms"]
    for message in dated + undated:
        assert "Cotton T-shirt" in message["text"] or message["channel"] == "sms"
        assert "ships complete" in message["text"]
        assert f"https://shop.example/orders/{order_id}" in message["text"]
