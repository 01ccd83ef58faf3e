"""SQL for cash on delivery: the mismatches flagged for operations."""

from __future__ import annotations

import asyncpg

from services.payment.domain import CashMismatch
from shared.contracts.envelope import Money


async def add_cash_mismatch(conn: asyncpg.Connection, m: CashMismatch) -> bool:
    """Flags the order's cash mismatch; False when it is flagged already."""
    row = await conn.fetchrow(
        """INSERT INTO cash_mismatches (order_id, attempt_id, shipment_id, kind, due_amount,
               due_currency, collected_amount, collected_currency, delivered_at, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (order_id) DO NOTHING RETURNING order_id""",
        m.order_id,
        m.attempt_id,
        m.shipment_id,
        m.kind,
        m.due.amount,
        m.due.currency,
        m.collected.amount,
        m.collected.currency,
        m.delivered_at,
        m.recorded_at,
    )
    return row is not None


async def cash_mismatches(conn: asyncpg.Connection, limit: int) -> list[CashMismatch]:
    """The latest flagged cash mismatches, newest first."""
    rows = await conn.fetch(
        """SELECT * FROM cash_mismatches ORDER BY recorded_at DESC, order_id LIMIT $1""", limit
    )
    return [
        CashMismatch(
            order_id=r["order_id"],
            attempt_id=r["attempt_id"],
            shipment_id=r["shipment_id"],
            kind=r["kind"],
            due=Money(amount=r["due_amount"], currency=r["due_currency"]),
            collected=Money(amount=r["collected_amount"], currency=r["collected_currency"]),
            delivered_at=r["delivered_at"],
            recorded_at=r["recorded_at"],
        )
        for r in rows
    ]
