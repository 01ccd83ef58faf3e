"""Payment reminders: on schedule, capped, stopped by payment, never to an opted-out customer,
and the per-variant statistics a shop uses to keep the wording that converts."""

from __future__ import annotations

from collections import Counter
from typing import Any

from services.notify import domain
from tests.integration.notify.support import notify, order_placed, paid, received
from tests.support.db import rows
from tests.support.events import new_order_id, resend, send, wrap
from tests.support.http import OPS, SHOP, client
from tests.support.infra import Infra
from tests.support.polling import eventually


def reminders_in(sinks: Any, order_id: str, contact: Any) -> list[dict[str, Any]]:
    found = sinks.store.messages(to=contact.email) + sinks.store.messages(to=contact.phone)
    return [m for m in found if m is not None and is_reminder(m)]


def is_reminder(message: dict[str, Any]) -> bool:
    text = message.get("subject") or message["text"]
    return "waiting for you" in text or "held" in text or "reserved for you" in text


async def timers_settled(runtime: Any, order_id: str) -> list[dict[str, Any]]:
    found = await rows(runtime, "SELECT key, state FROM timers WHERE key LIKE $1", f"{order_id}:%")
    return found if found and all(t["state"] != "pending" for t in found) else []


async def test_reminders_are_capped_stop_on_payment_respect_opt_out_and_add_up_per_variant(
    infra: Infra, database: str, sinks: Any
) -> None:
    unpaid, converts, pays_at_once, opted_out = (new_order_id() for _ in range(4))
    customer = f"cus_{opted_out}"
    reminders = {
        "reminder_offsets_seconds": [1.0, 8.0, 9.0],
        "reminder_min_gap_seconds": 0.5,
        "reminder_max": 2,
    }
    orders = {
        oid: order_placed(oid, due_in=15, customer_id=customer if oid == opted_out else None)
        for oid in (unpaid, converts, pays_at_once, opted_out)
    }
    async with notify(infra, database, sinks, **reminders) as runtime:
        async with client(runtime) as http:
            put = await http.put(
                f"/v1/customers/{customer}/preferences",
                json={"channels": ["email"], "marketing_opt_out": True},
                headers=SHOP,
            )
            assert put.status_code == 200, put.text
            await resend(infra, *(wrap(o, oid) for oid, o in orders.items()))
            await send(infra, paid(), pays_at_once)

            async def first_reminder() -> list[dict[str, Any]]:
                return reminders_in(sinks, converts, orders[converts].contact)

            await eventually(first_reminder, what="the first reminder", timeout=20)
            await send(infra, paid(), converts)
            # the unpaid order gets its two reminders (the cap), then its timers are spent
            await received(sinks, orders[unpaid].contact, 6, timeout=30)
            await eventually(lambda: timers_settled(runtime, unpaid), what="unpaid timers spent")
            await eventually(lambda: timers_settled(runtime, converts), what="timers cancelled")
            await eventually(lambda: timers_settled(runtime, opted_out), what="opt-out timer")

            async def settled_stats() -> tuple[Any, list[dict[str, Any]]] | None:
                """The figures and the message log, read back to back until they agree (other
                orders on the shared topics may be reminded meanwhile)."""
                before = await reminder_log(runtime)
                stats = await http.get("/v1/stats/reminders", headers=OPS)
                return (stats, before) if before == await reminder_log(runtime) else None

            settled = await eventually(settled_stats, what="a quiet moment to read the stats")
            assert settled is not None
            stats, log = settled
            forbidden = await http.get("/v1/stats/reminders", headers=SHOP)
        messages = await rows(
            runtime, "SELECT order_id, template, channel, status, variant FROM messages"
        )
    by_order = Counter((m["order_id"], m["template"]) for m in messages)
    assert by_order[(unpaid, "payment_reminder")] == 4, "two reminders by email and SMS, no more"
    assert by_order[(converts, "payment_reminder")] == 2, "one reminder, then it paid"
    assert by_order[(pays_at_once, "payment_reminder")] == 0
    assert by_order[(opted_out, "payment_reminder")] == 0, "opted out of reminders"
    assert by_order[(opted_out, "order_confirmation")] == 1, "transactional still goes, by email"
    assert {m["channel"] for m in messages if m["order_id"] == opted_out} == {"email"}
    assert len(reminders_in(sinks, unpaid, orders[unpaid].contact)) == 4
    for m in messages:
        if m["template"] == "payment_reminder":
            assert m["variant"] == domain.variant_for(m["order_id"], ["A", "B"])

    # The statistics add up: this test's orders count in their variants as they should, and
    # the figures equal a recount of every reminder in the message log (other orders
    # published to the shared topics meanwhile count too).
    mine = {v: {"orders_reminded": 0, "reminders_sent": 0, "converted": 0} for v in "AB"}
    for oid, sent_count, converted in ((unpaid, 2, 0), (converts, 1, 1)):
        e = mine[domain.variant_for(oid, ["A", "B"])]
        e["orders_reminded"] += 1
        e["reminders_sent"] += sent_count
        e["converted"] += converted
    assert stats.status_code == 200 and forbidden.status_code == 403
    got = {v["variant"]: v for v in stats.json()["variants"]}
    recount = recount_reminders(log)
    for variant in "AB":
        figures = {k: got[variant][k] for k in mine[variant]}
        assert figures == recount.get(variant, dict.fromkeys(figures, 0)), variant
        assert all(figures[k] >= mine[variant][k] for k in figures), variant
        reminded = figures["orders_reminded"]
        rate = figures["converted"] / reminded if reminded else 0.0
        assert got[variant]["conversion_rate"] == round(rate, 4)


async def reminder_log(runtime: Any) -> list[dict[str, Any]]:
    return await rows(
        runtime,
        "SELECT m.variant, m.order_id, m.source_event_id, o.converted FROM messages m"
        " JOIN orders o USING (order_id)"
        " WHERE m.template = 'payment_reminder' AND m.status = 'sent' ORDER BY m.id",
    )


def recount_reminders(log: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for variant in {r["variant"] for r in log}:
        sent = [r for r in log if r["variant"] == variant]
        orders = {r["order_id"] for r in sent}
        out[variant] = {
            "orders_reminded": len(orders),
            "reminders_sent": len({r["source_event_id"] for r in sent}),
            "converted": len({r["order_id"] for r in sent if r["converted"]}),
        }
    return out
