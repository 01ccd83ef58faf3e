"""`fulfil lag` and `fulfil tail`: the flow as the broker holds it."""

from __future__ import annotations

from shared.contracts.registry import consumed_by
from tests.integration.ops.support import env_for, fulfil
from tests.support.events import new_order_id, placed, send
from tests.support.infra import Infra
from tests.support.services import new_group


async def test_lag_shows_each_group_partition_committed_end_and_lag(infra: Infra) -> None:
    suffix = await new_group(infra.bootstrap, "payment")  # committed at the end of its topics
    order_id = new_order_id()
    await send(infra, placed(), order_id)  # one record the group has not consumed
    env = {**env_for(infra), "FULFIL_GROUP_SUFFIX": suffix}
    run = await fulfil(env, "lag", "--service", "payment", "--json")
    assert run.code == 0, run.err
    rows = run.json()
    group = f"fulfil-payment{suffix}"
    streams = f"{group}-streams"  # the topics faust reads (shared.kafka.groups)
    assert {r["group"] for r in rows} == {group, streams}
    assert {r["topic"] for r in rows} == {t.name for t in consumed_by("payment")}
    assert {r["topic"] for r in rows if r["group"] == streams} == {"returns.v1"}
    assert all(r["end"] - r["committed"] == r["lag"] for r in rows)
    assert sum(r["lag"] for r in rows) == 1
    behind = next(r for r in rows if r["lag"])
    assert behind["topic"] == "orders.v1"
    table = await fulfil(env, "lag")
    assert table.code == 0 and group in table.out and "fulfil-logistics" in table.out


async def test_tail_shows_a_decoded_event_with_personal_data_masked(infra: Infra) -> None:
    order_id = new_order_id()
    envelope = await send(infra, placed(), order_id)
    env = env_for(infra)
    args = ("tail", "orders.v1", "--from-beginning", "--order", order_id, "--max", "1")
    run = await fulfil(env, *args, "--idle", "20", "--json")
    assert run.code == 0, run.err
    event = run.json()
    assert event["type"] == "OrderPlaced"
    assert event["order_id"] == order_id
    assert event["event_id"] == str(envelope.event_id)
    assert event["payload"]["total"]["amount"] == 12_900
    assert event["payload"]["contact"]["email"] == "l***@example.com"
    assert event["payload"]["address"]["line1"] == "***"
    readable = await fulfil(env, *args, "--idle", "20", "--type", "OrderPlaced")
    assert readable.code == 0 and "OrderPlaced" in readable.out and order_id in readable.out
    assert "li.wei@example.com" not in readable.out and "Nanjing" not in readable.out


async def test_an_unknown_topic_is_a_one_line_error(infra: Infra) -> None:
    run = await fulfil(env_for(infra), "tail", "orders.v0")
    assert run.code != 0
    assert "unknown topic 'orders.v0'" in run.err
    assert run.err.strip().count("\n") == 0
