"""Reconciliation: a callback lost is not a payment lost.

Every `reconcile_every_seconds`, one replica (under an advisory lock) asks each provider
about a bounded batch of attempts whose end it has not reported `reconcile_after_seconds`
after they opened, outside any transaction, then about a batch of exchange charges alike
(steps/reconcile_exchanges.py). A succeeded or failed answer is applied by exactly the
step that applies a callback (`apply_callback`), so whichever of the answer and a late
callback comes second changes nothing. The daily report sums the ledger per provider,
and compares each attempt and exchange charge of the day with what its provider says.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from services.payment import repository as repo
from services.payment.deps import Deps
from services.payment.domain import Attempt
from services.payment.metrics import AMOUNT_MISMATCHES, MISMATCHES
from services.payment.providers import Callback, ProviderError
from services.payment.steps.charges import apply_callback
from services.payment.steps.reconcile_exchanges import ask_exchange, asking, due_exchanges
from shared import db
from shared.logging import get_logger
from shared.unit import Service

log = get_logger(__name__)
LOCK = 0x70_61_79_72_65_63  # "payrec": one replica reconciles at a time
REPORT_LIMIT = 2_000  # attempts and exchange charges compared with their provider per report
_CONCURRENCY = 8


@dataclass(frozen=True)
class Asked:
    attempt_id: str
    answer: str  # pending | succeeded | failed | error
    effect: str | None = None
    exchange_id: str | None = None  # an exchange's charge, not one of the order's attempts


async def run_reconcile(runtime: Service[Deps]) -> None:
    """The background task: a pass every `reconcile_every_seconds`, failures retried."""
    every = runtime.deps.settings.reconcile_every_seconds
    while True:
        try:
            await reconcile_once(runtime)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if db.is_transient(exc):
                log.warning("reconcile pass failed; retrying", error=repr(exc))
            else:
                log.exception("reconcile pass failed unexpectedly; retrying")
        await asyncio.sleep(every)


async def reconcile_once(runtime: Service[Deps]) -> list[Asked] | None:
    """One pass; None when another replica holds the lock."""
    async with runtime.db.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK):
            return None
        try:
            attempts = await _due(runtime, conn)
            asked = []
            for attempt in attempts:  # one at a time: gentle on the provider
                asked.append(await _ask(runtime, attempt))
            for charge in await due_exchanges(runtime, conn):
                answer, effect = await ask_exchange(runtime, charge)
                asked.append(Asked(charge.attempt_id, answer, effect, charge.exchange_id))
            return asked
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK)


async def _due(runtime: Service[Deps], conn: Any) -> list[Attempt]:
    providers = list(runtime.deps.providers)
    return await repo.unsettled_attempts(conn, providers, **asking(runtime))


async def _ask(runtime: Service[Deps], attempt: Attempt) -> Asked:
    """Asks the attempt's provider and applies a final answer. One attempt's trouble (a
    provider error, an adapter or data bug) never stops the others: it is asked again on
    a later pass, behind those not asked yet."""
    assert attempt.session_id is not None
    provider = runtime.deps.providers[attempt.provider]
    try:
        found = await provider.query(attempt.session_id, attempt.attempt_id)
    except ProviderError as exc:
        log.warning("reconcile query failed", attempt_id=attempt.attempt_id, error=exc.reason)
        return await _still_pending(runtime, attempt, "error")
    except Exception:
        log.exception("reconcile query raised unexpectedly", attempt_id=attempt.attempt_id)
        return await _still_pending(runtime, attempt, "error")
    if found is None:
        return await _still_pending(runtime, attempt, "pending")
    if not found.order_id:  # a query answer need not echo our order id; we asked for it
        found = replace(found, order_id=attempt.order_id)
    try:
        async with runtime.unit() as unit:
            effect = await apply_callback(unit, attempt.provider, found)
            await repo.mark_checked(unit.conn, attempt.attempt_id, "final", unit.now)
    except Exception as exc:
        if db.is_transient(exc):
            raise
        log.exception("reconcile answer not applied", attempt_id=attempt.attempt_id)
        return await _still_pending(runtime, attempt, "error")
    if effect in MISMATCHES:
        AMOUNT_MISMATCHES.labels(attempt.provider, effect).inc()
    log.info("reconciled", attempt_id=attempt.attempt_id, order_id=attempt.order_id, effect=effect)
    return Asked(attempt.attempt_id, found.outcome, effect)


async def _still_pending(runtime: Service[Deps], attempt: Attempt, answer: str) -> Asked:
    async with runtime.unit() as unit:
        await repo.mark_checked(unit.conn, attempt.attempt_id, "pending", unit.now)
    return Asked(attempt.attempt_id, answer)


# the daily report


async def daily_report(runtime: Service[Deps], day: date, *, check: bool = True) -> dict[str, Any]:
    """Captured, refunded and disputed per provider on `day` (UTC) from the ledger, and
    each attempt and exchange charge of the day compared with what its provider says."""
    start = datetime.combine(day, time(), UTC)
    end = start + timedelta(days=1)
    async with runtime.db.acquire() as conn:
        totals = await repo.day_totals(conn, start, end)
        attempts = await repo.day_attempts(conn, start, end, REPORT_LIMIT + 1) if check else []
    providers: dict[str, dict[str, Any]] = {}
    for row in totals:
        entry = providers.setdefault(row["provider"], {"provider": row["provider"], "totals": []})
        entry["totals"].append(
            {
                "currency": row["currency"],
                "captured": int(row["captured"]),
                "charges": int(row["charges"]),
                "refunded": int(row["refunded"]),
                "refunds": int(row["refunds"]),
                "disputed": 0,  # no provider here reports disputes yet
                "net": int(row["captured"]) - int(row["refunded"]),
            }
        )
    compared = None
    if check:
        compared = await _provider_check(runtime, attempts[:REPORT_LIMIT])
        compared["truncated"] = len(attempts) > REPORT_LIMIT
    return {
        "date": day.isoformat(),
        "from": start.isoformat(),
        "to": end.isoformat(),
        "providers": list(providers.values()),
        "provider_check": compared,
    }


async def _provider_check(runtime: Service[Deps], attempts: list[Any]) -> dict[str, Any]:
    """Per attempt or exchange charge: charged in our ledger (and how much) against the
    provider's answer. An exchange charge's difference also names its exchange."""
    limit = asyncio.Semaphore(_CONCURRENCY)

    async def compare(row: Any) -> dict[str, Any] | None:
        provider = runtime.deps.providers.get(row["provider"])
        if provider is None:
            return {"attempt_id": row["attempt_id"], "problem": "provider_not_configured"}
        async with limit:
            try:
                found: Callback | None = await provider.query(row["session_id"], row["attempt_id"])
            except Exception as exc:
                reason = exc.reason if isinstance(exc, ProviderError) else repr(exc)
                return {"attempt_id": row["attempt_id"], "problem": f"query_failed: {reason}"}
        theirs = found.amount.amount if found and found.outcome == "succeeded" else None
        if theirs == row["charged"]:
            return None
        exchange = {"exchange_id": row["exchange_id"]} if row["exchange_id"] else {}
        return {
            "attempt_id": row["attempt_id"],
            **exchange,
            "order_id": row["order_id"],
            "provider": row["provider"],
            "problem": "amount_differs" if theirs and row["charged"] else "state_differs",
            "ledger_charged": row["charged"],
            "provider_captured": theirs,
            "provider_state": "pending" if found is None else found.outcome,
        }

    results = await asyncio.gather(*(compare(row) for row in attempts))
    differences = [r for r in results if r is not None]
    differences.sort(key=lambda r: str(r["attempt_id"]))
    exchanges = sum(1 for row in attempts if row["exchange_id"])
    return {"attempts": len(attempts), "exchange_charges": exchanges,
            "agreed": len(attempts) - len(differences), "differences": differences}  # fmt: skip
