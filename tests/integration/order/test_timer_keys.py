"""Auto-confirmation timers set before the timer re-armed under its own key were keyed
`<order id>/<n>`; one still pending in a database confirms its order all the same."""

from __future__ import annotations

import uuid

from shared import timers
from shared.runtime import Runtime
from tests.integration.order.support import delivered, kinds, place, succeeded, until
from tests.support.events import now, send_all


async def test_an_auto_confirm_timer_under_an_old_key_still_completes_its_order(
    service: Runtime,
) -> None:
    order_id = (await place(service))["order_id"]
    await send_all(service, order_id, succeeded("a1"), delivered(f"shp_{uuid.uuid4().hex[:8]}"))
    await until(service, order_id, lambda o: o["status"] == "delivered")
    async with service.db.acquire() as conn:
        await timers.schedule(conn, "auto_confirm", f"{order_id}/1", now(), {})

    order = await until(service, order_id, lambda o: o["status"] == "completed")
    async with service.db.acquire() as conn:
        states = dict(
            await conn.fetch(
                "SELECT key, state FROM timers WHERE kind = 'auto_confirm' AND key LIKE $1 || '%'",
                order_id,
            )
        )
    assert kinds(order)[-1] == "completed"
    assert states == {f"{order_id}/1": "fired", order_id: "cancelled"}
