"""The unit of work: strict about what it writes."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contracts.events.logistics import ShortLine, StockRanShort, StockShortage
from shared.unit import Unit, Units


def unit() -> Unit[Any]:
    conn: Any = None  # emitting only collects outbox rows; nothing reaches the database
    return Units("logistics", deps=None).on(conn, correlation_id="c-1", causation_id="e-1")


async def test_a_retired_event_model_is_never_written_and_its_successor_is() -> None:
    u = unit()
    line = ShortLine(sku="SKU-1", requested=2, available=1)
    with pytest.raises(ValueError, match="retired"):
        await u.emit(StockShortage(lines=(line,)), order_id="ord-1")
    envelope = await u.emit(StockRanShort(lines=(line,)), order_id="ord-1")
    assert (envelope.type, envelope.schema_version) == ("StockRanShort", 2)
    assert [e.type for e in u.emitted] == ["StockRanShort"]
    assert envelope.causation_id == "e-1" and envelope.correlation_id == "c-1"


async def test_a_service_may_not_write_another_services_events() -> None:
    u = Units("order", deps=None).on(None)  # type: ignore[arg-type]
    line = ShortLine(sku="SKU-1", requested=2, available=1)
    with pytest.raises(ValueError, match="order may not publish StockRanShort"):
        await u.emit(StockRanShort(lines=(line,)), order_id="ord-1")
