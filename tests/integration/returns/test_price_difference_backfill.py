"""Migration 0007 on the real database: price_dropped requests recorded before it get what
each of their lines took, shared by the difference to the price of the time when it covers
the amount, otherwise by what the lines were paid, adding up to the request's amount."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg

from services.returns.app import MIGRATIONS
from shared.db import all_migrations, apply_migrations
from tests.support.infra import Infra

AT = datetime(2026, 11, 11, 8, 0, tzinfo=UTC)
LINES = [
    {"line_id": "l1", "sku": "TEA", "quantity": 2, "unit_price": {"amount": 5_000},
     "discount": {"amount": 400}},
    {"line_id": "l2", "sku": "CUP", "quantity": 1, "unit_price": {"amount": 3_000}},
]  # fmt: skip


async def request(conn: asyncpg.Connection, request_id: str, amount: int) -> None:
    named = [{"line_id": "l1", "sku": "TEA", "quantity": 2}, {"line_id": "l2", "sku": "CUP",
             "quantity": 1}]  # fmt: skip
    await conn.execute(
        """INSERT INTO refund_requests (id, order_id, flow, reason, status, amount, currency,
               lines, requested_by, created_at, updated_at)
           VALUES ($1, 'ord_b', 'no_return', 'price_dropped', 'refunded', $2, 'CNY', $3,
                   'customer', $4, $4)""",
        request_id,
        amount,
        json.dumps(named),
        AT,
    )
    for line in named:
        await conn.execute(
            """INSERT INTO refund_request_lines (request_id, order_id, line_id, sku, quantity,
                   open)
               VALUES ($1, 'ord_b', $2, $3, $4, false)""",
            request_id,
            line["line_id"],
            line["sku"],
            line["quantity"],
        )


async def test_earlier_price_differences_are_shared_over_their_lines(infra: Infra) -> None:
    conn = await asyncpg.connect(await infra.create_database("returns_backfill"))
    try:
        migrations = all_migrations("returns", MIGRATIONS)
        await apply_migrations(conn, [m for m in migrations if m.component == "shared"])
        before = [m for m in migrations if m.component == "returns" and m.version < 7]
        await apply_migrations(conn, before)
        await conn.execute(
            """INSERT INTO orders (order_id, currency, lines, paid_amount)
               VALUES ('ord_b', 'CNY', $1, 12600)""",
            json.dumps(LINES),
        )
        await conn.execute(
            """INSERT INTO price_history (sku, amount, currency, changed_at)
               VALUES ('TEA', 4200, 'CNY', $1)""",
            AT.replace(hour=7),
        )
        await request(conn, "rr_reckoned", 1_600)  # the rule's: TEA's drop, nothing on CUP
        await request(conn, "rr_by_hand", 2_000)  # more than the drop: by what was paid
        await apply_migrations(conn, migrations)
        found = await conn.fetch(
            "SELECT request_id, line_id, price_difference FROM refund_request_lines"
        )
    finally:
        await conn.close()
    took = {(r["request_id"], r["line_id"]): r["price_difference"] for r in found}
    share = 2_000 * 9_600 // 12_600
    assert took == {
        ("rr_reckoned", "l1"): 1_600,
        ("rr_reckoned", "l2"): 0,
        ("rr_by_hand", "l1"): share,
        ("rr_by_hand", "l2"): 2_000 - share,
    }
