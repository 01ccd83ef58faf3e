"""SQL of the order service's coupons: issuing, listing, expiring and redeeming them."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.order.domain.fees import Coupon

_COLUMNS = (
    "code, kind, value, currency, min_spend, valid_from, valid_until, usage_limit, used, expired_at"
)


def _coupon(row: asyncpg.Record) -> Coupon:
    return Coupon(**{name.strip(): row[name.strip()] for name in _COLUMNS.split(",")})


async def create(conn: asyncpg.Connection, coupon: Coupon, now: datetime) -> bool:
    """Issues `coupon`; False when its code exists already."""
    status = await conn.execute(
        f"""INSERT INTO coupons ({_COLUMNS}, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, NULL, $9)
            ON CONFLICT (code) DO NOTHING""",  # noqa: S608
        coupon.code,
        coupon.kind,
        coupon.value,
        coupon.currency,
        coupon.min_spend,
        coupon.valid_from,
        coupon.valid_until,
        coupon.usage_limit,
        now,
    )
    return bool(status == "INSERT 0 1")


async def load(conn: asyncpg.Connection, code: str, *, lock: bool = False) -> Coupon | None:
    """The coupon; locked when `lock`, so placements that use it take turns."""
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM coupons WHERE code = $1{suffix}",  # noqa: S608
        code,
    )
    return _coupon(row) if row else None


async def listed(conn: asyncpg.Connection, limit: int) -> list[Coupon]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM coupons ORDER BY created_at DESC, code LIMIT $1",  # noqa: S608
        limit,
    )
    return [_coupon(row) for row in rows]


async def expire(conn: asyncpg.Connection, code: str, now: datetime) -> Coupon | None:
    """Ends the coupon now (an earlier end stays); None when there is no such coupon."""
    row = await conn.fetchrow(
        f"""UPDATE coupons SET expired_at = COALESCE(expired_at, $2) WHERE code = $1
            RETURNING {_COLUMNS}""",  # noqa: S608
        code,
        now,
    )
    return _coupon(row) if row else None


async def redeem(
    conn: asyncpg.Connection, code: str, order_id: str, discount: int, now: datetime
) -> None:
    """Takes one use of the coupon for `order_id`, in the placement's transaction. The row
    was locked and checked by the placement; the table's CHECK is the last word."""
    await conn.execute("UPDATE coupons SET used = used + 1 WHERE code = $1", code)
    await conn.execute(
        """INSERT INTO coupon_redemptions (order_id, code, discount, redeemed_at)
           VALUES ($1, $2, $3, $4)""",
        order_id,
        code,
        discount,
        now,
    )
