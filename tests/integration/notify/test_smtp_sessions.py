"""SMTP sessions are reused: the relay (the sink, a real SMTP server) sees many messages
over few sessions; a session the relay dropped is replaced and its message still goes out
once; idle sessions end, and every session ends at shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

from deploy.local.sinks import Sinks
from services.notify.channels import Delivery, SmtpEmail
from tests.integration.notify.support import notify, order_placed, received
from tests.support.events import new_order_id, resend, wrap
from tests.support.infra import Infra
from tests.support.polling import eventually

SENDER = "Fulfil Shop <orders@fulfil.example>"


def email(sinks: Sinks, **options: Any) -> SmtpEmail:
    return SmtpEmail("127.0.0.1", sinks.smtp_port, SENDER, **options)


def delivery(n: int, run: str) -> Delivery:
    return Delivery(
        f"ntf_{run}_{n}", "email", f"{run}.{n}@example.com", f"text {n}", subject=f"s {n}"
    )


async def test_many_messages_go_over_a_few_reused_sessions(sinks: Sinks) -> None:
    smtp, run = email(sinks, pool_size=3), new_order_id()
    try:
        for start in range(0, 100, 20):  # as the sender does: a pass, then the next
            await asyncio.gather(*(smtp.send(delivery(n, run)) for n in range(start, start + 20)))
    finally:
        await smtp.aclose()
    assert len([m for m in sinks.store.received if m["key"].startswith(f"ntf_{run}_")]) == 100
    assert sinks.store.duplicates == 0
    assert sinks.store.smtp_sessions == 3, "100 messages over the pool's 3 sessions"


async def test_a_dropped_session_is_replaced_and_the_message_goes_out_once(sinks: Sinks) -> None:
    smtp, run = email(sinks, pool_size=1), new_order_id()
    try:
        await smtp.send(delivery(1, run))
        sinks.store.drop_next_mail = 1  # the relay drops the idle session as it is used
        await smtp.send(delivery(2, run))
        await smtp.send(delivery(3, run))
    finally:
        await smtp.aclose()
    got = [m["key"] for m in sinks.store.received]
    assert got == [f"ntf_{run}_1", f"ntf_{run}_2", f"ntf_{run}_3"]
    assert sinks.store.duplicates == 0
    assert sinks.store.drop_next_mail == 0
    assert sinks.store.smtp_sessions == 2, "the dropped session, then its replacement"


async def test_idle_sessions_end_and_shutdown_ends_the_rest(sinks: Sinks) -> None:
    idle = email(sinks, pool_size=2, idle_seconds=0.3)
    busy = email(sinks, pool_size=2)
    run = new_order_id()
    sends = [s.send(delivery(n, f"{run}{i}")) for i, s in enumerate((idle, busy)) for n in range(4)]
    await asyncio.gather(*sends)
    opened = sinks.store.smtp_sessions

    async def only_the_busy_left() -> bool:
        return sinks.store.open_smtp_sessions == opened - idle.pool.opened

    await eventually(only_the_busy_left, what="the idle sender's sessions closed")
    await busy.aclose()
    await idle.aclose()

    async def none_left() -> bool:
        return sinks.store.open_smtp_sessions == 0

    await eventually(none_left, what="every session closed at shutdown")
    assert len(sinks.store.received) == 8


async def test_the_service_sends_over_reused_sessions_and_ends_them_when_it_stops(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    orders = [new_order_id() for _ in range(6)]
    placed = {o: order_placed(o) for o in orders}
    async with notify(infra, database, sinks, smtp_pool_size=2):
        for order_id in orders:  # one after another: each confirmation on its own pass
            await resend(infra, wrap(placed[order_id], order_id))
            await received(sinks, placed[order_id].contact, 2)

    async def none_left() -> bool:
        return sinks.store.open_smtp_sessions == 0

    await eventually(none_left, what="the service's sessions closed when it stopped")
    emails = sinks.store.messages(channel="email")
    assert len(emails) == 6 and sinks.store.duplicates == 0
    assert sinks.store.smtp_sessions <= 2, "six confirmations over at most two sessions"
