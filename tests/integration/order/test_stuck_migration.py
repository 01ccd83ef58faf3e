"""Migration 0002 gives the orders placed before it the stage anchors the domain derives."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg

from services.order import repository
from services.order.app import MIGRATIONS
from services.order.domain.stuck import anchors
from shared import db
from tests.support.infra import Infra

T0 = datetime(2026, 11, 11, 6, 0, tzinfo=UTC)
_OLD = """INSERT INTO orders (order_id, stage, currency, total_amount, paid_amount,
    payment_method, payment_status, paid_at, promised_ship_date, locale, time_zone, lines,
    contact, address, payment, shipment, refunds, placed_at, updated_at)
    VALUES ($1, $2, 'CNY', 100, $3, $4, 'pending', $5, $6, 'zh-CN', 'Asia/Shanghai', '[]',
            '{}', $7, $8, $9, $10, $11, $11)"""
ADDRESS = {"recipient": "Li Wei", "line1": "1 Century Avenue", "city": "Shanghai", "country": "CN"}


async def old_order(conn: asyncpg.Connection, order_id: str, stage: str, **values: object) -> None:
    await conn.execute(
        _OLD,
        order_id,
        stage,
        values.get("paid", 0),
        values.get("method", "wallet"),
        values.get("paid_at"),
        values.get("promised"),
        ADDRESS,
        values.get("payment", {}),
        values.get("shipment"),
        values.get("refunds", {}),
        T0,
    )


async def test_orders_from_before_the_migration_get_the_anchors_the_domain_derives(
    infra: Infra,
) -> None:
    dsn = await infra.create_database("order_migration")
    migrations = db.all_migrations("order", MIGRATIONS)
    before = [m for m in migrations if not (m.component == "order" and m.version >= 2)]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.set_type_codec(
            "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
        await db.apply_migrations(conn, before)
        paid = {"paid": 100, "paid_at": T0 + timedelta(minutes=1), "payment": {"attempt_id": "a"}}
        shipment = {"shipment_id": "s1", "shipped_at": (T0 + timedelta(hours=1)).isoformat()}
        refunds = {
            "rr1": {"status": "requested", "updated_at": (T0 + timedelta(hours=3)).isoformat()},
            "rr2": {"status": "rejected", "updated_at": T0.isoformat()},
        }
        await old_order(conn, "o_placed", "placed")
        await old_order(conn, "o_asked", "placed", payment={"attempt_id": "a"})
        await old_order(conn, "o_paid", "paid", promised=T0.date(), **paid)
        await old_order(conn, "o_cod", "placed", method="cash_on_delivery", promised=T0.date(),
                        payment={"attempt_id": "c"})  # fmt: skip
        await old_order(conn, "o_shipped", "shipped", shipment=shipment, refunds=refunds, **paid)
        await conn.execute(
            """INSERT INTO order_timeline (order_id, entry_key, at, kind) VALUES
               ('o_shipped', 'shipped:s1', $1, 'shipped'), ('o_shipped', 'c1', $2, 'checkpoint')""",
            T0 + timedelta(hours=1),
            T0 + timedelta(hours=2),
        )
        await db.apply_migrations(conn, migrations)
        rows = await conn.fetch(
            """SELECT order_id, awaiting_request_since, ship_by, silent_since,
                      refund_waiting_since FROM orders ORDER BY order_id"""
        )
        stored = {r["order_id"]: tuple(r.values())[1:] for r in rows}
        derived = {}
        for order_id in stored:
            order = await repository.load(conn, order_id)
            assert order is not None
            derived[order_id] = tuple(anchors(order))
    finally:
        await conn.close()
    assert stored == derived
    assert stored["o_placed"][0] == T0 and stored["o_asked"] == (None, None, None, None)
    assert stored["o_paid"][1] == datetime(2026, 11, 11, 16, 0, tzinfo=UTC)  # Shanghai midnight
    assert stored["o_cod"][1] == stored["o_paid"][1]
    assert stored["o_shipped"][2:] == (T0 + timedelta(hours=2), T0 + timedelta(hours=3))
