"""Messages link to the customer's order page (NOTIFY_ORDER_PAGE_URL) with the order's
customer token, and that token, and no other order's, opts the order's contacts out of
non-essential messages from the page (`POST /v1/orders/{id}/unsubscribe`)."""

from __future__ import annotations

import httpx

from deploy.local.sinks import Sinks
from shared.tokens import order_token
from tests.integration.notify.support import notify, order_placed, received
from tests.support.db import rows
from tests.support.events import new_order_id, send
from tests.support.infra import Infra
from tests.support.polling import eventually
from tests.support.services import base_url

PAGES = "https://orders.shop.example"


async def test_the_page_link_and_its_token_opt_the_orders_contacts_out(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    order_id, other_id = new_order_id(), new_order_id()
    placed = order_placed(order_id, customer_id=None)
    async with notify(infra, database, sinks, order_page_url=PAGES) as runtime:
        secret = runtime.deps.settings.order_token_secret.get_secret_value()
        token = order_token(secret, order_id)
        await send(infra, placed, order_id)
        got = await received(sinks, placed.contact, 2)  # the confirmation, by email and SMS
        link = f"{PAGES}/orders/{order_id}?token={token}"
        assert all(link in m["text"] for m in got), [m["text"] for m in got]

        url = f"{base_url(runtime)}/v1/orders/{order_id}/unsubscribe"
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.post(url)).status_code == 401
            another = {"Authorization": f"Bearer {order_token(secret, other_id)}"}
            assert (await http.post(url, headers=another)).status_code == 403
            unknown = f"{base_url(runtime)}/v1/orders/{other_id}/unsubscribe"
            assert (await http.post(unknown, headers=another)).status_code == 404
            assert not await rows(runtime, "SELECT 1 FROM contact_opt_outs")

            own = {"Authorization": f"Bearer {token}"}
            done = await http.post(url, headers=own)
            assert done.status_code == 200, done.text
            assert placed.contact.email not in done.text and len(done.json()["opted_out"]) == 2
            assert (await http.post(url, headers=own)).status_code == 200  # a repeat: the same

        async def stored() -> list[dict[str, object]]:
            return await rows(runtime, "SELECT channel, source FROM contact_opt_outs ORDER BY 1")

        assert await eventually(stored, timeout=10, what="the opt-outs") == [
            {"channel": "email", "source": "order_page"},
            {"channel": "sms", "source": "order_page"},
        ]
