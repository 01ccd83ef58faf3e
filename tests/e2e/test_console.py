"""The operations console in a real browser (headless Chromium), on the whole system: an
operator signs in with the operations key, replays a dead letter set aside from a real
poison record on the real broker, and approves a refund request waiting in the queue;
axe-core finds no serious or critical accessibility problem on the pages."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import httpx
from selenium.webdriver.common.by import By

from deploy.demo.shop import Shop, order_body
from tests.e2e.journeys import Driver, poll
from tests.support.browser import browser as browser
from tests.support.browser import no_serious_violations, submit, wait_for
from tests.support.infra import Infra
from tests.support.kafka import publish_raw

ITEM = {"sku": "E2E-CONSOLE-TEA", "name": "Longjing tea", "variant": "250 g", "price": 12800}


def _ops(shop: Shop) -> dict[str, str]:
    return {"Authorization": f"Bearer {shop.edges.ops_key}"}


async def _letter(shop: Shop, marker: str) -> dict[str, Any]:
    """The payment service's pending dead letter holding `marker`, once set aside."""
    async with httpx.AsyncClient(timeout=10) as client:

        async def probe() -> dict[str, Any] | None:
            url = f"{shop.edges.payment}/ops/dead-letters"
            found = await client.get(url, headers=_ops(shop), params={"status": "pending"})
            for letter in found.json()["dead_letters"]:
                shown = await client.get(f"{url}/{letter['id']}", headers=_ops(shop))
                if marker in (shown.json().get("value") or ""):
                    return dict(shown.json())
            return None

        return dict(await poll(probe, "the poison record set aside by payment", timeout=60))


def _sign_in(session: Any, web_url: str, ops_key: str, actor: str) -> None:
    session.get(f"{web_url}/console")
    wait_for(session, lambda s: s.find_elements(By.ID, "key"))
    no_serious_violations(session)
    session.find_element(By.ID, "actor").send_keys(actor)
    session.find_element(By.ID, "key").send_keys(ops_key)
    session.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(session, lambda s: s.find_elements(By.ID, "funnel"))


async def test_an_operator_replays_a_dead_letter_and_approves_a_refund(
    shop: Shop, system: dict[str, Any], browser: Any, infra: Infra
) -> None:
    web_url = system["web"]["url"]
    marker = f"poison-{uuid.uuid4().hex[:12]}"
    await publish_raw(infra.bootstrap, "orders.v1", f"{{{marker}".encode())
    letter = await _letter(shop, marker)

    await shop.put_stock(ITEM["sku"], 100, threshold=0)
    body = order_body(random.Random(), "card", catalogue=(ITEM,), lines=1, quantity=1)
    order_id = (await shop.place_order(body))["order_id"]
    driver = Driver(shop)
    await driver.pay(order_id)
    shipped = await driver.status(order_id, "shipped")
    parcel = shipped["shipment"]
    await shop.advance_parcel(parcel["courier"], parcel["tracking_number"])
    request = await shop.request_refund(order_id, "not_received")
    request_id = request.get("refund_request_id") or request["id"]
    assert request["status"] == "requested", "the promise is ahead: operations decide"

    actor = f"ana {uuid.uuid4().hex[:6]}"
    await asyncio.to_thread(_sign_in, browser, web_url, shop.edges.ops_key, actor)
    cookie = browser.get_cookie("fulfil_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert shop.edges.ops_key not in cookie["value"]
    no_serious_violations(browser)

    browser.get(f"{web_url}/console/dead-letters/payment")
    no_serious_violations(browser)
    submit(browser, browser.find_element(By.CSS_SELECTOR, f"#letter-{letter['id']} button"))
    wait_for(browser, lambda s: s.find_elements(By.CSS_SELECTOR, ".notice"))
    async with httpx.AsyncClient(timeout=10) as client:
        url = f"{shop.edges.payment}/ops/dead-letters/{letter['id']}"
        audited = (await client.get(url, headers=_ops(shop))).json()
    assert [(a["action"], a["actor"]) for a in audited["actions"]] == [("replay", actor)]
    # the record is poison for good (not an event at all): the replay says it failed again
    assert audited["status"] == "pending" and audited["actions"][0]["outcome"] == "failed"
    assert "failed" in browser.find_element(By.CSS_SELECTOR, ".notice").text.lower() or (
        "undecodable" in browser.find_element(By.CSS_SELECTOR, ".notice").text
    )

    browser.get(f"{web_url}/console")
    wait_for(browser, lambda s: s.find_elements(By.ID, f"refund-{request_id}"))
    submit(
        browser, browser.find_element(By.CSS_SELECTOR, f"#refund-{request_id} button[name=approve]")
    )
    wait_for(browser, lambda s: s.find_elements(By.CSS_SELECTOR, ".notice.ok"))
    assert request_id in browser.find_element(By.CSS_SELECTOR, ".notice.ok").text
    await driver.status(order_id, "refunded")

    browser.get(f"{web_url}/console/search?q={order_id}")
    assert browser.find_elements(By.LINK_TEXT, order_id)
    no_serious_violations(browser)
    browser.get(f"{web_url}/console/orders/{order_id}")
    wait_for(browser, lambda s: "RefundRequested" in s.page_source, timeout=60)
    no_serious_violations(browser)


async def test_forms_without_the_anti_forgery_token_or_session_are_refused(
    shop: Shop, system: dict[str, Any]
) -> None:
    web_url = system["web"]["url"]
    async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:
        anonymous = await client.get(f"{web_url}/console")
        forged = await client.post(
            f"{web_url}/console/login", data={"actor": "eve", "key": shop.edges.ops_key}
        )
        replay = await client.post(f"{web_url}/console/dead-letters/payment/1/replay")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"
    assert forged.status_code == 403 and "fulfil_console" not in forged.headers.get(
        "set-cookie", ""
    )
    assert replay.status_code == 403
