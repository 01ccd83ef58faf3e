"""SQL of the catalogue's price history."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def record(
    conn: asyncpg.Connection, sku: str, amount: int, currency: str, at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO price_history (sku, amount, currency, changed_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (sku, changed_at) DO UPDATE SET amount = EXCLUDED.amount,
               currency = EXCLUDED.currency""",
        sku,
        amount,
        currency,
        at,
    )


async def history(conn: asyncpg.Connection, sku: str, limit: int = 100) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT amount, currency, changed_at FROM price_history WHERE sku = $1
               ORDER BY changed_at DESC LIMIT $2""",
            sku,
            limit,
        )
    )
