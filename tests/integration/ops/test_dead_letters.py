"""`fulfil dlq`: a poison message set aside, listed, replayed once its cause is fixed (once,
however often it is replayed), or discarded with a reason; every action audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest_asyncio

from services.payment.app import build
from services.payment.settings import PaymentSettings
from shared.contracts.events.order import OrderPlaced
from shared.messages import Incoming
from shared.runtime import Runtime
from shared.unit import Unit
from tests.integration.ops.support import env_for, fulfil
from tests.support.events import new_order_id, placed, send
from tests.support.http import OPS, client
from tests.support.infra import Infra
from tests.support.kafka import publish_raw
from tests.support.polling import eventually
from tests.support.services import running, settings_for

RAW_KEY = "raw-ops-key-of-the-tests"
BROKEN: set[str] = set()
"""Orders whose handling fails (the cause of the poison) until a test fixes it."""


async def record_unless_broken(unit: Unit[Any], msg: Incoming[Any]) -> None:
    if msg.order_id in BROKEN:
        raise ValueError(f"cannot handle {msg.order_id} yet")
    await unit.conn.execute("INSERT INTO ops_effects VALUES ($1)", msg.order_id)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def payment(infra: Infra) -> AsyncIterator[Runtime]:
    dsn = await infra.create_database("ops_payment")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE ops_effects (order_id TEXT)")
    finally:
        await conn.close()
    definition = build(
        settings_for(
            PaymentSettings,
            infra.bootstrap,
            dsn,
            consumer_max_attempts=2,
            ops_raw_api_key=RAW_KEY,
        )
    )
    definition.handlers = {OrderPlaced: record_unless_broken}
    async with running(definition) as runtime:
        yield runtime


async def effects(runtime: Runtime, order_id: str) -> int:
    async with runtime.db.acquire() as conn:
        return int(
            await conn.fetchval("SELECT count(*) FROM ops_effects WHERE order_id = $1", order_id)
        )


async def dead_lettered(runtime: Runtime, env: dict[str, str], order_id: str) -> dict[str, Any]:
    """Waits for the order's letter in `fulfil dlq list --json`."""

    async def probe() -> list[dict[str, Any]]:
        async with runtime.db.acquire() as conn:
            ids = await conn.fetch(
                "SELECT id FROM dead_letters WHERE position($1::bytea IN value) > 0",
                order_id.encode(),
            )
        if not ids:
            return []
        listed = (await fulfil(env, "dlq", "list", "--service", "payment", "--json")).json()
        return [x for x in listed if x["id"] in {r["id"] for r in ids}]

    return (await eventually(probe, timeout=30, what="the dead letter"))[0]


async def test_a_letter_is_listed_replayed_once_fixed_and_a_second_replay_does_nothing(
    infra: Infra, payment: Runtime
) -> None:
    env = env_for(infra, payment, actor="ana")
    order_id = new_order_id()
    BROKEN.add(order_id)
    envelope = await send(infra, placed(), order_id)
    letter = await dead_lettered(payment, env, order_id)
    assert letter["reason"] == "handler_failed"
    assert letter["status"] == "pending"
    assert letter["attempts"] == 2
    assert letter["message_id"] == str(envelope.event_id)
    assert letter["position"].startswith("orders.v1:")
    listed = await fulfil(env, "dlq", "list", "--service", "payment", "--status", "pending")
    assert listed.code == 0 and "handler_failed" in listed.out

    still_broken = await fulfil(env, "dlq", "replay", "--service", "payment", str(letter["id"]))
    assert still_broken.code != 0, "a replay that fails again says so"
    shown = await fulfil(env, "dlq", "show", "--service", "payment", str(letter["id"]), "--json")
    failed = shown.json()
    assert failed["status"] == "pending" and failed["attempts"] == 3
    assert "cannot handle" in failed["error"]
    assert await effects(payment, order_id) == 0

    BROKEN.discard(order_id)  # the cause is fixed
    first = await fulfil(env, "dlq", "replay", "--service", "payment", str(letter["id"]), "--json")
    again = await fulfil(env, "dlq", "replay", "--service", "payment", str(letter["id"]), "--json")
    assert first.code == 0 and first.json()[0]["outcome"] == "handled"
    assert again.code == 0 and again.json()[0]["outcome"] == "skipped"
    assert await effects(payment, order_id) == 1, "replayed twice, handled once"

    shown = await fulfil(env, "dlq", "show", "--service", "payment", str(letter["id"]), "--json")
    audited = shown.json()
    assert audited["status"] == "replayed"
    assert [(a["action"], a["outcome"]) for a in audited["actions"]] == [
        ("replay", "failed"),
        ("replay", "handled"),
        ("replay", "skipped"),
    ]
    assert {(a["role"], a["actor"]) for a in audited["actions"]} == {("ops", "ana")}
    async with payment.db.acquire() as conn:
        outcome = await conn.fetchval(
            "SELECT outcome FROM inbox WHERE message_id = $1", str(envelope.event_id)
        )
    assert outcome == "handled"


async def test_show_masks_personal_data(infra: Infra, payment: Runtime) -> None:
    env = env_for(infra, payment)
    order_id = new_order_id()
    BROKEN.add(order_id)
    await send(infra, placed(), order_id)
    letter = await dead_lettered(payment, env, order_id)
    for args in ((), ("--json",)):
        shown = await fulfil(env, "dlq", "show", "--service", "payment", str(letter["id"]), *args)
        assert shown.code == 0
        assert order_id in shown.out
        assert "li.wei@example.com" not in shown.out
        assert "Nanjing" not in shown.out and "Li Wei" not in shown.out
    BROKEN.discard(order_id)


async def test_the_api_masks_the_letter_unless_asked_raw_with_the_raw_key(
    infra: Infra, payment: Runtime
) -> None:
    env = env_for(infra, payment)
    order_id = new_order_id()
    BROKEN.add(order_id)
    await send(infra, placed(), order_id)
    letter = await dead_lettered(payment, env, order_id)
    path = f"/ops/dead-letters/{letter['id']}"
    async with client(payment) as http:
        masked = await http.get(path, headers=OPS)
        listed = await http.get("/ops/dead-letters", headers=OPS, params={"status": "pending"})
        refused = await http.get(path, headers=OPS, params={"raw": "true"})
        raw = await http.get(
            path, headers={"Authorization": f"Bearer {RAW_KEY}"}, params={"raw": "true"}
        )
    BROKEN.discard(order_id)
    assert masked.status_code == 200 and order_id in masked.text
    for personal in ("li.wei@example.com", "Li Wei", "Nanjing"):
        assert personal not in masked.text and personal not in listed.text
    assert refused.status_code == 403, "the ops key alone does not unmask"
    assert raw.status_code == 200 and "li.wei@example.com" in raw.json()["value"]


async def test_a_selection_replays_every_pending_letter_it_matches(
    infra: Infra, payment: Runtime
) -> None:
    env = env_for(infra, payment)
    orders = [new_order_id(), new_order_id()]
    BROKEN.update(orders)
    for order_id in orders:
        await send(infra, placed(), order_id)
    letters = [await dead_lettered(payment, env, order_id) for order_id in orders]
    BROKEN.difference_update(orders)
    run = await fulfil(
        env, "dlq", "replay", "--service", "payment", "--type", "OrderPlaced", "--json"
    )
    assert run.code == 0, run.err
    outcomes = {r["id"]: r["outcome"] for r in run.json()}
    assert all(outcomes[x["id"]] == "handled" for x in letters)
    assert [await effects(payment, order_id) for order_id in orders] == [1, 1]
    nothing_left = await fulfil(env, "dlq", "replay", "--service", "payment", "--all", "--json")
    assert all(r["id"] not in outcomes for r in nothing_left.json())


async def test_a_discarded_letter_keeps_its_reason_and_is_never_replayed(
    infra: Infra, payment: Runtime
) -> None:
    env = env_for(infra, payment, actor="bo")
    order_id = new_order_id()
    BROKEN.add(order_id)
    await send(infra, placed(), order_id)
    letter = await dead_lettered(payment, env, order_id)
    ident = str(letter["id"])
    BROKEN.discard(order_id)
    run = await fulfil(
        env, "dlq", "discard", "--service", "payment", ident, "--reason", "test order", "--json"
    )
    assert run.code == 0 and run.json()[0]["status"] == "discarded"
    replayed = await fulfil(env, "dlq", "replay", "--service", "payment", ident, "--json")
    assert replayed.json()[0]["outcome"] == "skipped"
    assert await effects(payment, order_id) == 0
    shown = (await fulfil(env, "dlq", "show", "--service", "payment", ident, "--json")).json()
    assert shown["status"] == "discarded"
    assert shown["actions"][0]["detail"] == "test order"
    assert shown["actions"][0]["actor"] == "bo"


async def test_an_unknown_letter_or_service_is_a_one_line_error(
    infra: Infra, payment: Runtime
) -> None:
    env = env_for(infra, payment)
    unknown = await fulfil(env, "dlq", "show", "--service", "payment", "987654321")
    assert unknown.code != 0
    assert unknown.err.strip().count("\n") == 0
    assert "no dead letter 987654321" in unknown.err
    wrong = await fulfil(env, "dlq", "list", "--service", "warehouse")
    assert wrong.code != 0 and "warehouse" in wrong.err
    empty = await fulfil(env, "dlq", "replay", "--service", "payment")
    assert empty.code != 0 and "select" in empty.err


async def test_bytes_that_still_do_not_decode_stay_pending_until_discarded(
    infra: Infra, payment: Runtime
) -> None:
    env = env_for(infra, payment)
    order_id = new_order_id()
    garbage = b"\x00\xff not an envelope " + order_id.encode()
    await publish_raw(infra.bootstrap, "orders.v1", garbage, key=order_id.encode())
    letter = await dead_lettered(payment, env, order_id)
    assert letter["reason"] == "undecodable" and letter["event_type"] is None
    ident = str(letter["id"])
    run = await fulfil(env, "dlq", "replay", "--service", "payment", ident, "--json")
    assert run.code != 0
    (result,) = run.json()
    assert result["outcome"] == "failed" and result["status"] == "pending"
    assert result["error"].startswith("undecodable")
    discarded = await fulfil(
        env, "dlq", "discard", "--service", "payment", ident, "--reason", "garbage", "--json"
    )
    assert discarded.json()[0]["status"] == "discarded"
    shown = await fulfil(env, "dlq", "show", "--service", "payment", ident)
    assert shown.code == 0 and "garbage" in shown.out
