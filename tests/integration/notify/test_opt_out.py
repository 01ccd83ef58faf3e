"""Opting out by contact: a guest (no customer id) stops reminders with the link in the email
or by replying "退订" to an SMS, and still gets what is essential, such as the shipped message,
but no review invitation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from deploy.local.sinks import Sinks
from services.notify import optout
from shared import signing
from shared.contracts.events.order import OrderCompleted
from shared.runtime import Runtime
from tests.integration.notify.support import notify, order_placed, received, shipped
from tests.support.db import rows
from tests.support.events import new_order_id, send
from tests.support.infra import Infra
from tests.support.polling import eventually
from tests.support.services import base_url

INBOUND_SECRET = "dev-sms-inbound-secret"


SKIPPED = [
    {"channel": c, "status": "skipped", "skip_reason": "contact_opted_out"}
    for c in ("email", "sms")
]


async def both_channels(
    runtime: Runtime, order_id: str, which: str, what: str
) -> list[dict[str, Any]]:
    """The order's message `which` (an SQL condition) once recorded for both channels."""

    async def probe() -> list[dict[str, Any]]:
        found = await rows(
            runtime,
            "SELECT channel, status, skip_reason FROM messages WHERE order_id = $1"
            f" AND {which} ORDER BY channel",
            order_id,
        )
        return found if len(found) == 2 else []

    return list(await eventually(probe, timeout=30, what=what))


def signed(body: dict[str, Any], secret: str = INBOUND_SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, {signing.HEADER: signing.sign(secret, raw), "Content-Type": "application/json"}


async def test_a_guest_who_opts_out_gets_no_more_reminders_but_still_the_shipped_message(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id, customer_id=None)  # a guest: only a phone and an email
    contact = placed.contact
    assert contact.email and contact.phone
    async with notify(
        infra, database, sinks, reminder_offsets_seconds=[1.0, 12.0], reminder_min_gap_seconds=1
    ) as runtime:
        await send(infra, placed, order_id)
        got = await received(sinks, contact, 4)  # confirmation and the first reminder, twice
        confirmation, reminder = [m for m in got if m["channel"] == "email"]  # in time order
        assert placed.order_url in reminder["text"] and "ignore this message" in reminder["text"]
        link = reminder["headers"]["List-Unsubscribe"].strip("<>")
        assert reminder["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert link in reminder["text"] and f'href="{link}"' in reminder["html"]
        assert "List-Unsubscribe" not in confirmation["headers"], "essential: no unsubscribe"

        async with httpx.AsyncClient(timeout=10) as http:
            page = await http.get(link)
            assert page.status_code == 200 and "<form" in page.text
            assert contact.email not in page.text, "the contact is masked"
            assert not await rows(runtime, "SELECT 1 FROM contact_opt_outs"), "GET only asks"
            done = await http.post(
                link,
                content=b"List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert done.status_code == 200
            local_phone = contact.phone.removeprefix("+86")  # the gateway may drop the prefix
            raw, headers = signed({"from": local_phone, "text": " 退订 ", "message_id": "in-1"})
            reply = await http.post(
                f"{base_url(runtime)}/v1/sms/inbound", content=raw, headers=headers
            )
            assert reply.status_code == 200 and reply.json() == {"opted_out": True}

        reminder = f"source_event_id = 'reminder:{order_id}:2'"
        assert await both_channels(runtime, order_id, reminder, "the second reminder") == SKIPPED
        stored = await rows(runtime, "SELECT contact_key, channel FROM contact_opt_outs")
        assert {r["channel"] for r in stored} == {"email", "sms"}
        assert all(contact.phone not in r["contact_key"] for r in stored), "stored hashed"

        await send(infra, shipped(placed, order_id, "sf"), order_id)
        got = await received(sinks, contact, 6)
        assert {m["channel"] for m in got if "SF42" in m["text"]} == {"email", "sms"}
        assert len(got) == 6, "no second reminder reached the guest"

        review = OrderCompleted(confirmed_by="auto", review_url="https://shop.example/review")
        await send(infra, review, order_id)

        invitation = "template = 'order_completed'"
        assert await both_channels(runtime, order_id, invitation, "the review invitation") == (
            SKIPPED
        ), "an opted-out guest is not asked for a review"


async def test_a_forged_or_broken_unsubscribe_token_and_an_unsigned_sms_are_refused(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    async with notify(infra, database, sinks) as runtime:
        settings = runtime.deps.settings
        good = optout.unsubscribe_link(settings, "li@example.com", "en", datetime.now(UTC))
        forged = good[:-4] + ("0000" if not good.endswith("0000") else "1111")
        url = f"{base_url(runtime)}/v1/unsubscribe"
        async with httpx.AsyncClient(timeout=10) as http:
            for bad in (forged, f"{url}?token=not-a-token-at-all", f"{url}?token=a.b.c.d.e.f"):
                for method in ("GET", "POST"):
                    response = await http.request(method, bad)
                    assert response.status_code == 400, (method, bad, response.text)
                    assert response.json()["error"] == "invalid_token"
            assert (await http.get(good)).status_code == 200
            raw, headers = signed({"from": "+8613900000000", "text": "TD"}, secret="wrong")
            inbound = f"{base_url(runtime)}/v1/sms/inbound"
            assert (await http.post(inbound, content=raw, headers=headers)).status_code == 401
            raw, headers = signed({"from": "+8613900000000", "text": "hello"})
            reply = await http.post(inbound, content=raw, headers=headers)
            assert reply.status_code == 200 and reply.json() == {"opted_out": False}
        assert not await rows(runtime, "SELECT 1 FROM contact_opt_outs")
