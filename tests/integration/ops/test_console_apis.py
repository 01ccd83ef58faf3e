"""The operations APIs the console and `fulfil` share: orders searched by id, phone or email
(contacts masked), each service's lag and pending dead letters, low stock, and the
housekeeping of old stuck-order reports."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from services.order import repository
from shared.runtime import Runtime
from tests.integration.logistics.support import Logistics
from tests.integration.ops.support import env_for, fulfil
from tests.integration.order.support import order_service, place
from tests.support.http import OPS, client
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.polling import eventually


@pytest.fixture
def lg(infra: Infra, database: str, tail: TopicTail) -> Logistics:
    return Logistics(infra, database, tail)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def order(infra: Infra) -> AsyncIterator[Runtime]:
    dsn = await infra.create_database("ops_console_order")
    async with order_service(infra, dsn, stuck_check_seconds=3600) as runtime:
        yield runtime


def _customer() -> dict[str, Any]:
    """A customer of this test alone: a phone and an email nobody else has."""
    digits = f"{uuid.uuid4().int % 10**8:08d}"
    return {"phone": f"+86 139 {digits[:4]} {digits[4:]}", "email": f"Mei.{digits}@Example.com"}


async def test_orders_are_found_by_phone_email_or_id_newest_first_contacts_masked(
    infra: Infra, order: Runtime
) -> None:
    contact = _customer()
    first = (await place(order, contact=contact))["order_id"]
    second = (await place(order, contact=contact))["order_id"]
    env = env_for(infra, order)
    bare_phone = contact["phone"].replace(" ", "")
    by_phone = await fulfil(env, "search", bare_phone, "--json")
    by_email = await fulfil(env, "search", contact["email"].upper(), "--json")
    by_id = await fulfil(env, "search", first, "--json")
    readable = await fulfil(env, "search", contact["email"])
    assert by_phone.code == 0, by_phone.err
    assert [o["order_id"] for o in by_phone.json()] == [second, first], "newest first"
    assert [o["order_id"] for o in by_email.json()] == [second, first], "any case"
    assert [o["order_id"] for o in by_id.json()] == [first]
    for run in (by_phone, by_email, by_id, readable):
        assert contact["email"] not in run.out and bare_phone not in run.out
        assert "Li Wei" not in run.out
    shown = by_phone.json()[0]
    assert shown["contact"]["phone"].endswith(bare_phone[-2:]) and shown["stage"] == "placed"
    assert second in readable.out and "orders by email (2)" in readable.out

    async with client(order) as http:
        page = await http.get("/ops/orders", params={"q": bare_phone, "limit": 1}, headers=OPS)
        rest = await http.get(
            "/ops/orders",
            params={"q": bare_phone, "limit": 1, "cursor": page.json()["next_cursor"]},
            headers=OPS,
        )
        nonsense = await http.get("/ops/orders", params={"q": "hello"}, headers=OPS)
        forged = await http.get("/ops/orders", params={"q": first, "cursor": "x"}, headers=OPS)
        anonymous = await http.get("/ops/orders", params={"q": first})
    assert [o["order_id"] for o in page.json()["orders"]] == [second]
    assert [o["order_id"] for o in rest.json()["orders"]] == [first]
    assert rest.json()["next_cursor"] is None
    assert nonsense.status_code == 422 and nonsense.json()["field"] == "q"
    assert forged.status_code == 422 and forged.json()["field"] == "cursor"
    assert anonymous.status_code == 401


async def test_status_gives_each_services_lag_and_pending_letters(
    infra: Infra, order: Runtime
) -> None:
    env = env_for(infra, order)
    for other in ("payment", "logistics", "returns", "notify"):
        env[f"FULFIL_{other.upper()}_URL"] = "http://127.0.0.1:9"  # nothing listens there

    async def measured() -> dict[str, Any] | None:
        run = await fulfil(env, "status", "--json")
        assert run.code == 0, run.err
        found: dict[str, Any] = run.json()
        return found if found["order"]["lag"]["measured_at"] else None

    found = await eventually(measured, timeout=30, what="the order service's lag measured")
    mine = found["order"]
    assert mine["lag"]["total"] == sum(p["lag"] for p in mine["lag"]["partitions"])
    assert {p["topic"] for p in mine["lag"]["partitions"]} >= {"payments.v1"}
    assert mine["dead_letters"] == {"pending": 0, "by_reason": []}
    assert "does not answer" in found["returns"]["error"], "a service not running says so"
    readable = await fulfil(env, "status")
    assert readable.code == 0 and "order" in readable.out and "does not answer" in readable.out


async def test_old_reports_of_stays_that_ended_are_purged_the_current_ones_kept(
    order: Runtime,
) -> None:
    order_id = (await place(order))["order_id"]
    old = datetime.now(UTC) - timedelta(days=60)
    async with order.db.acquire() as conn:
        current = await conn.fetchval(
            "SELECT awaiting_request_since FROM orders WHERE order_id = $1", order_id
        )
        await conn.executemany(
            "INSERT INTO stuck_reports (order_id, stage, since, reported_at) VALUES ($1,$2,$3,$4)",
            [
                (order_id, "awaiting_payment_request", current, old),  # the stay goes on
                (order_id, "silent_in_transit", old, old),  # over, long ago
                (order_id, "refund_unanswered", old, datetime.now(UTC)),  # over, recently
            ],
        )
        await repository.purge_stuck_reports(conn, older_than_days=30)
        kept = await conn.fetch(
            "SELECT stage FROM stuck_reports WHERE order_id = $1 ORDER BY stage", order_id
        )
    assert [r["stage"] for r in kept] == ["awaiting_payment_request", "refund_unanswered"]


async def test_low_stock_lists_what_is_at_or_below_its_threshold_least_available_first(
    infra: Infra, lg: Logistics
) -> None:
    async with lg.running() as logistics:
        low = await lg.stocked(on_hand=3, threshold=3)
        out = await lg.stocked(on_hand=0, threshold=5)
        fine = await lg.stocked(on_hand=50, threshold=5)
        run = await fulfil(env_for(infra, logistics), "stock", "--json")
        readable = await fulfil(env_for(infra, logistics), "stock")
    assert run.code == 0, run.err
    skus = [s["sku"] for s in run.json()]
    assert out in skus and low in skus and fine not in skus
    assert skus.index(out) < skus.index(low), "the least available first"
    [shown] = [s for s in run.json() if s["sku"] == low]
    assert (shown["available"], shown["low_stock_threshold"]) == (3, 3)
    assert readable.code == 0 and low in readable.out
