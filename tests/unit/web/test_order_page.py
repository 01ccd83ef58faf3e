"""The customer's order page on the sample orders: what it shows, what it refuses."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from web import i18n
from web.app import create_app
from web.order_view import allowed, masked_address
from web.samples import TOKEN, SampleServices
from web.security import CSRF_COOKIE
from web.settings import WebSettings


@pytest.fixture
def services() -> SampleServices:
    return SampleServices()


def _client(services: SampleServices) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(WebSettings(), services))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def client(services: SampleServices) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(services) as client:
        yield client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


async def test_the_page_tells_the_order_in_its_own_language(client: httpx.AsyncClient) -> None:
    page = await client.get(f"/orders/ord_sample_shipped?token={TOKEN}")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert "已发货" in page.text and "顺丰速运" in page.text and "SF1234567890" in page.text
    assert "2026-12-02" in page.text  # the new date after the delay
    assert "派送中" in page.text  # a checkpoint


async def test_lang_switches_the_pages_words(client: httpx.AsyncClient) -> None:
    page = await client.get(f"/orders/ord_sample_shipped?token={TOKEN}&lang=en")
    assert '<html lang="en">' in page.text and "Tracking number" in page.text
    traditional = await client.get(f"/orders/ord_sample_shipped?token={TOKEN}&lang=zh-TW")
    assert "追蹤編號" in traditional.text


async def test_the_language_asked_and_the_browsers_are_passed_to_the_order_api() -> None:
    seen: dict[str, object] = {}

    class Recording(SampleServices):
        async def order(self, order_id, token, lang, accept_language):  # type: ignore[no-untyped-def]
            seen.update(lang=lang, accept=accept_language)
            return await super().order(order_id, token, lang, accept_language)

    async with _client(Recording()) as client:
        await client.get(
            f"/orders/ord_sample_shipped?token={TOKEN}&lang=zh-TW",
            headers={"Accept-Language": "zh-TW,zh;q=0.8"},
        )
    assert seen == {"lang": "zh-TW", "accept": "zh-TW,zh;q=0.8"}


async def test_the_timeline_is_asked_again_in_the_pages_language() -> None:
    asked: list[object] = []

    class Negotiating(SampleServices):  # the order API: ?lang=, else the browser's, else own
        async def order(self, order_id, token, lang, accept_language):  # type: ignore[no-untyped-def]
            asked.append(lang)
            found = await super().order(order_id, token, lang, accept_language)
            return {**found, "language": lang or "en"}

    async with _client(Negotiating()) as client:
        page = await client.get(
            f"/orders/ord_sample_shipped?token={TOKEN}", headers={"Accept-Language": "en-US"}
        )
    assert '<html lang="zh-CN">' in page.text, "the page speaks the order's language"
    assert asked == [None, "zh-CN"], "and so does the timeline it shows"


async def test_a_token_opens_only_its_order(client: httpx.AsyncClient) -> None:
    other = await client.get("/orders/ord_sample_shipped?token=another-orders-token")
    assert other.status_code == 403 and "SF1234567890" not in other.text
    assert (await client.get("/orders/ord_sample_shipped")).status_code == 401
    assert (await client.get(f"/orders/ord_unknown?token={TOKEN}")).status_code == 404


async def test_every_answer_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    page = await client.get(f"/orders/ord_sample_shipped?token={TOKEN}")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self' 'nonce-" in csp
    assert "'unsafe-inline'" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce and f'nonce="{nonce.group(1)}"' in page.text
    assert "<script>" not in page.text  # no inline script


async def test_a_form_without_its_token_changes_nothing(
    client: httpx.AsyncClient, services: SampleServices
) -> None:
    await client.get(f"/orders/ord_sample_shipped?token={TOKEN}")
    forged = await client.post(
        "/orders/ord_sample_shipped/actions",
        data={"token": TOKEN, "action": "confirm", "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert services.orders["ord_sample_shipped"]["status"] == "shipped"


async def test_a_form_token_of_another_order_is_refused(
    client: httpx.AsyncClient, services: SampleServices
) -> None:
    other = _csrf((await client.get(f"/orders/ord_sample_delivered?token={TOKEN}")).text)
    refused = await client.post(
        "/orders/ord_sample_shipped/actions",
        data={"token": TOKEN, "action": "confirm", "csrf_token": other},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert services.orders["ord_sample_shipped"]["status"] == "shipped"


async def test_confirming_receipt_goes_through_the_order_api(
    client: httpx.AsyncClient, services: SampleServices
) -> None:
    page = await client.get(f"/orders/ord_sample_shipped?token={TOKEN}")
    assert client.cookies.get(CSRF_COOKIE)
    done = await client.post(
        "/orders/ord_sample_shipped/actions",
        data={"token": TOKEN, "action": "confirm", "csrf_token": _csrf(page.text), "lang": "en"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and "done=confirm" in done.headers["location"]
    assert ("POST", "/v1/orders/ord_sample_shipped/confirm-receipt") in services.calls
    after = await client.get(done.headers["location"])
    assert "Receipt confirmed" in after.text and "Completed" in after.text


async def test_an_unpaid_order_offers_the_providers_page(client: httpx.AsyncClient) -> None:
    page = await client.get(f"/orders/ord_sample_unpaid?token={TOKEN}&lang=en")
    assert 'id="pay" href="https://openapi.alipay.com/' in page.text
    assert 'id="cancel"' in page.text and 'id="confirm"' not in page.text


async def test_the_delivery_address_is_masked() -> None:
    shown = masked_address(
        {
            "recipient": "王小明",
            "phone": "+8613800138000",
            "line1": "世纪大道100号8楼",
            "city": "上海市",
            "country": "CN",
        }
    )
    text = " ".join(shown)
    assert "王**" in text and "8000" in text and "13800138000" not in text
    assert "100号8楼" not in text and "上海市" in text


async def test_the_page_language_falls_back_from_the_browsers() -> None:
    assert i18n.language(None, "zh-HK,zh;q=0.9", None) == "zh-TW"
    assert i18n.language(None, "fr", None) == "en"
    assert i18n.language("xx", None, "zh-CN") == "zh-CN"
    assert i18n.language("en", None, "zh-CN") == "en"


def test_a_refused_order_is_named_in_each_language_and_asks_for_nothing() -> None:
    order = {
        "status": "refused",
        "payment": {"method": "cash_on_delivery", "status": "not_charged"},
        "totals": {"paid": {"amount": 0, "currency": "CNY"}},
    }
    assert allowed(order) == {"unsubscribe"}, "nothing to pay, cancel, confirm or refund"
    assert i18n.status("zh-CN", "refused") == "未签收，已退回卖家"  # noqa: RUF001
    assert i18n.status("zh-TW", "refused") == "未簽收，已退回賣家"  # noqa: RUF001
    assert i18n.status("en", "refused") == "Not delivered, returned to the shop"


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh-CN", ("商品金额", "优惠", "运费", "您选择的顺丰速运（加收 ¥15.00）")),  # noqa: RUF001
        ("zh-TW", ("商品金額", "優惠", "運費", "您選擇的順豐速運（加收 ¥15.00）")),  # noqa: RUF001
        ("en", ("Goods", "Discount", "Shipping", "by SF Express, as you chose (+¥15.00)")),
    ],
)
async def test_the_page_shows_the_postage_the_discount_and_the_courier_chosen(
    services: SampleServices, lang: str, words: tuple[str, ...]
) -> None:
    order = services.orders["ord_sample_shipped"]
    order["totals"] |= {
        "goods": {"amount": 20000, "currency": "CNY"},
        "discount": {"amount": 1000, "currency": "CNY"},
        "shipping_fee": {"amount": 2300, "currency": "CNY"},
        "courier": "sf",
        "courier_fee": {"amount": 1500, "currency": "CNY"},
    }
    async with _client(services) as client:
        page = await client.get(f"/orders/ord_sample_shipped?token={TOKEN}&lang={lang}")
    assert page.status_code == 200
    for word in words:
        assert word in page.text, word
    assert "¥200.00" in page.text and "-¥10.00" in page.text and "¥23.00" in page.text


async def test_an_order_without_postage_or_discount_shows_only_its_total(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get(f"/orders/ord_sample_shipped?token={TOKEN}&lang=en")
    assert 'id="total"' in page.text
    assert 'id="shipping-fee"' not in page.text and 'id="discount"' not in page.text


async def test_an_announced_delay_is_on_the_timeline_and_gives_the_date_now_expected(
    services: SampleServices, client: httpx.AsyncClient
) -> None:
    order = services.orders["ord_sample_shipped"]
    sentence = (
        "Sorry, because of bad weather, your parcel now arrives on 2026-12-04 "
        "instead of 2026-12-02."
    )
    details = {"cause": "weather", "stage": "on_its_way", "new_expected_date": "2026-12-04"}
    order["timeline"].append(
        {"at": "2026-12-01T08:00:00+08:00", "kind": "delay_announced", "description": sentence}
        | {"details": details}
    )
    page = await client.get(f"/orders/ord_sample_shipped?token={TOKEN}&lang=en")
    assert page.status_code == 200
    assert '<li data-kind="delay_announced">' in page.text and sentence in page.text
    assert re.search(r'id="new-date">2026-12-04<', page.text), "the last delay's date"


async def test_an_order_in_several_parcels_shows_each_with_its_goods_and_tracking(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get(f"/orders/ord_sample_parcels?token={TOKEN}")
    assert page.status_code == 200
    first = page.text.index('id="parcel-1"')
    second = page.text.index('id="parcel-2"')
    one, two = page.text[first:second], page.text[second:]
    assert "第 1 个包裹（共 2 个）" in one and "第 2 个包裹（共 2 个）" in two  # noqa: RUF001
    assert "西湖龙井 250g" in one and "SF1234567890" in one and "上海市：派送中" in one  # noqa: RUF001
    assert "青瓷茶杯" in two and "仍在仓库中" in two and "SF1234567890" not in two
    assert 'id="h-parcel"' not in page.text, "no single parcel card beside them"
    english = await client.get(f"/orders/ord_sample_parcels?token={TOKEN}&lang=en")
    assert "Parcel 2 of 2" in english.text and "Still in our warehouse" in english.text


async def test_an_order_in_one_parcel_shows_it_as_before(client: httpx.AsyncClient) -> None:
    page = await client.get(f"/orders/ord_sample_shipped?token={TOKEN}")
    assert 'id="h-parcel"' in page.text and 'id="tracking-number">SF1234567890<' in page.text
    assert 'id="parcel-1"' not in page.text


async def test_a_backorder_shows_what_is_short_and_takes_the_customers_choice(
    client: httpx.AsyncClient, services: SampleServices
) -> None:
    page = await client.get(f"/orders/ord_sample_backorder?token={TOKEN}&lang=en")
    assert page.status_code == 200
    html = page.text
    assert 'id="backorder" data-state="open"' in html
    assert "青瓷茶杯: 1 missing, 1 held for you" in html
    assert "Choose by 2026-11-30 09:12" in html, "the deadline where the customer is"
    assert "Without an answer: Ship what is in stock now" in html
    assert "Restock expected on 2026-12-05" in html
    assert 'id="backorder-ship"' in html and 'id="backorder-wait"' in html
    done = await client.post(
        "/orders/ord_sample_backorder/actions",
        data={
            "token": TOKEN,
            "action": "backorder",
            "choice": "wait",
            "csrf_token": _csrf(html),
            "lang": "en",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and "done=backorder" in done.headers["location"]
    assert ("POST", "/v1/orders/ord_sample_backorder/backorder-choice") in services.calls
    after = (await client.get(done.headers["location"])).text
    assert "Your choice is recorded." in after
    assert "You chose to wait for the missing items" in after
    assert 'id="backorder-ship"' not in after, "answered: no more buttons"


@pytest.mark.parametrize(
    ("lang", "said"),
    [("zh-CN", "已为您保留 1 件"), ("zh-TW", "已為您保留 1 件")],
)
async def test_the_backorder_card_speaks_the_pages_language(
    client: httpx.AsyncClient, lang: str, said: str
) -> None:
    page = await client.get(f"/orders/ord_sample_backorder?token={TOKEN}&lang={lang}")
    assert said in page.text
    assert i18n.text(lang, "backorder_wait") in page.text


def test_an_order_whose_backorder_is_answered_or_settled_offers_no_choice() -> None:
    held = {"state": "open", "choice": None}
    order = {"status": "paid", "backorder": held}
    assert "backorder" in allowed(order)
    assert "backorder" not in allowed({**order, "backorder": {**held, "choice": "wait"}})
    assert "backorder" not in allowed({**order, "backorder": {**held, "state": "filled"}})
    assert "backorder" not in allowed({**order, "status": "cancelled"})
    assert "backorder" not in allowed({"status": "paid", "backorder": None})
