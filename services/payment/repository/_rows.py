"""Reading rows into records: the helpers every room of the repository shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")


def _first(found: list[T]) -> T | None:
    return found[0] if found else None


async def _select(
    conn: asyncpg.Connection, record: Callable[..., T], select: str, where: str, *args: Any
) -> list[T]:
    """The `record`s of `select` (a fixed query of this package) under `where`."""
    rows = await conn.fetch(f"{select} WHERE {where}", *args)
    return [record(**dict(r)) for r in rows]
