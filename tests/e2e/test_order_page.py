"""The customer's order page in a real browser (headless Chromium), on the whole system:
the customer opens the link of the captured confirmation email, reads the order in
Chinese (the page's words and the order API's timeline sentences), follows it to
delivery, confirms receipt, asks for a refund and stops non-essential messages; axe-core
finds no serious or critical accessibility problem on any of the page's states."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from typing import Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from deploy.demo.shop import Shop, order_body
from tests.e2e.journeys import Driver, poll
from tests.support.browser import browser as browser
from tests.support.browser import no_serious_violations, submit, wait_for
from web import i18n

ITEM = {"sku": "E2E-PAGE-TEA", "name": "Longjing tea", "variant": "250 g", "price": 12800}


async def _confirmation_link(messages_url: str, email: str, web_url: str) -> str:
    async with httpx.AsyncClient(timeout=10) as client:

        async def probe() -> str | None:
            found = (await client.get(messages_url, params={"to": email})).json()["messages"]
            for message in found:
                text = f"{message.get('text', '')} {message.get('html', '')}"
                link = re.search(re.escape(web_url) + r"/orders/[^\s\"<>]+", text)
                if link:
                    return link.group(0).replace("&amp;", "&")
            return None

        return str(await poll(probe, f"the confirmation email to {email}", timeout=60))


def _text(session: Any, element_id: str) -> str:
    return str(session.find_element(By.ID, element_id).text)


def _sentences(session: Any, list_id: str) -> list[str]:
    """The sentences of a timeline list (#timeline, #checkpoints), without their times."""
    found = session.find_elements(By.CSS_SELECTOR, f"#{list_id} li span")
    return [str(element.text) for element in found]


async def test_a_customer_follows_the_order_from_the_emails_link(
    shop: Shop, system: dict[str, Any], browser: Any
) -> None:
    await shop.put_stock(ITEM["sku"], 100, threshold=0)
    body = order_body(random.Random(), "card", catalogue=(ITEM,), lines=1, quantity=1)
    email = f"page-{uuid.uuid4().hex[:10]}@example.com"
    body["contact"]["email"], body["locale"] = email, "zh-CN"
    order_id = (await shop.place_order(body))["order_id"]
    web_url = system["web"]["url"]

    link = await _confirmation_link(system["sinks"]["messages_url"], email, web_url)
    assert f"/orders/{order_id}?token=" in link and shop.edges.shop_key not in link
    await asyncio.to_thread(browser.get, link)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    assert "订单进度" in browser.page_source  # the timeline, in the order's language
    assert _text(browser, "status") == "待付款"
    assert "订单已提交。" in _sentences(browser, "timeline"), "the order API's words, in Chinese"
    no_serious_violations(browser)

    driver = Driver(shop)
    await driver.pay(order_id)
    await driver.deliver(order_id)
    await asyncio.to_thread(browser.get, link)
    assert _text(browser, "status") == "已送达"
    assert _text(browser, "tracking-number") and _text(browser, "courier")
    timeline, checkpoints = _sentences(browser, "timeline"), _sentences(browser, "checkpoints")
    assert any(line.startswith("买家已付款 ¥") for line in timeline), timeline
    assert any(line.startswith("卖家已通过") and "运单号" in line for line in timeline), timeline
    assert any(line.startswith("您的包裹已到达") for line in checkpoints), checkpoints
    assert any(line.startswith("已在") and line.endswith("签收。") for line in checkpoints)
    assert browser.find_element(By.ID, "track").get_attribute("href").startswith("http")
    no_serious_violations(browser)

    submit(browser, browser.find_element(By.ID, "confirm"))
    wait_for(browser, lambda s: s.find_elements(By.ID, "notice"))
    assert _text(browser, "notice") == i18n.text("zh-CN", "done_confirm")
    assert _text(browser, "status") == "已完成"
    no_serious_violations(browser)

    browser.find_element(By.CSS_SELECTOR, "#refund-box summary").click()
    Select(browser.find_element(By.ID, "reason")).select_by_value("changed_mind")
    no_serious_violations(browser)
    submit(browser, browser.find_element(By.ID, "send-refund"))
    wait_for(browser, lambda s: s.find_elements(By.ID, "notice"))
    assert _text(browser, "notice") == i18n.text("zh-CN", "done_refund")
    wait_for(browser, lambda s: s.find_elements(By.CSS_SELECTOR, "#refunds li"))
    no_serious_violations(browser)

    refunds = await driver.until(order_id, lambda o: bool(o["refunds"]), "a refund request")
    assert refunds["refunds"][0]["reason"] == "changed_mind"

    submit(browser, browser.find_element(By.ID, "unsubscribe"))
    wait_for(browser, lambda s: s.find_elements(By.ID, "notice"))
    assert _text(browser, "notice") == i18n.text("zh-CN", "done_unsubscribe")


async def test_a_customer_token_opens_only_its_order(shop: Shop, system: dict[str, Any]) -> None:
    await shop.put_stock(ITEM["sku"], 100, threshold=0)
    rng = random.Random()
    first = await shop.place_order(order_body(rng, "card", catalogue=(ITEM,), lines=1))
    second = await shop.place_order(order_body(rng, "card", catalogue=(ITEM,), lines=1))
    web_url = system["web"]["url"]
    async with httpx.AsyncClient(timeout=10) as client:
        own = await client.get(
            f"{web_url}/orders/{first['order_id']}", params={"token": first["access_token"]}
        )
        other = await client.get(
            f"{web_url}/orders/{second['order_id']}", params={"token": first["access_token"]}
        )
    assert own.status_code == 200 and first["order_id"] in own.text
    assert other.status_code == 403 and second["order_id"] not in other.text
