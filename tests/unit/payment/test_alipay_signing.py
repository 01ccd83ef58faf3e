"""Alipay's RSA2 wire format: base strings, signatures, response nodes, yuan and fen."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlparse

import pytest

from services.payment.providers import IgnoredCallback, InvalidCallback, MalformedCallback
from services.payment.providers import alipay_signing as wire
from services.payment.providers.alipay import AlipayProvider
from services.payment.providers.base import SessionRequest
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from tests.support.alipay_stub import APP_ID, AlipayStub, Trade, new_key_pair

MERCHANT_PRIVATE, MERCHANT_PUBLIC = new_key_pair()


@pytest.fixture(scope="module")
def stub() -> AlipayStub:
    return AlipayStub(MERCHANT_PUBLIC)


@pytest.fixture(scope="module")
def alipay(stub: AlipayStub) -> AlipayProvider:
    return AlipayProvider(
        app_id=APP_ID,
        private_key=MERCHANT_PRIVATE,
        alipay_public_key=stub.public_pem,
        gateway="https://openapi.alipay.com/gateway.do",
        notify_url="https://shop.example/v1/webhooks/alipay",
    )


def test_the_base_string_of_alipays_published_example() -> None:
    # The request example of Alipay's open platform doc "自行实现签名" (signing without
    # the SDK), as reproduced in the SOP project's signing page (git.aopcloud.com/k/SOP,
    # sop-website/website-front/pages/doc/sign.html). The doc publishes no key, so its
    # signature value cannot be checked here; the base string can.
    biz = (
        '{"button":[{"actionParam":"ZFB_HFCZ","actionType":"out","name":"话费充值"},'
        '{"name":"查询","subButton":[{"actionParam":"ZFB_YECX","actionType":"out",'
        '"name":"余额查询"},{"actionParam":"ZFB_LLCX","actionType":"out","name":"流量查询"},'
        '{"actionParam":"ZFB_HFCX","actionType":"out","name":"话费查询"}]},'
        '{"actionParam":"http://m.alipay.com","actionType":"link","name":"最新优惠"}]}'
    )
    params = {
        "app_id": "2014072300007148",
        "method": "alipay.mobile.public.menu.add",
        "charset": "GBK",
        "sign_type": "RSA2",
        "timestamp": "2014-07-24 03:07:50",
        "biz_content": biz,
        "sign": "e9zEAe4TTQ4LPLQvETPoLGXTiURcxiAKfMVQ6Hrrsx2hmyIEGvSfAQzbLxHrhyZ48wOJXTsD4FPnt",
        "version": "1.0",
    }
    assert wire.base_string(params) == (
        f"app_id=2014072300007148&biz_content={biz}&charset=GBK"
        "&method=alipay.mobile.public.menu.add&sign_type=RSA2"
        "&timestamp=2014-07-24 03:07:50&version=1.0"
    )


def test_the_base_string_sorts_by_name_and_drops_empty_values_and_the_sign() -> None:
    params = {"b": "2", "a": "1", "c": "", "sign": "x", "sign_type": "RSA2"}
    assert wire.base_string(params) == "a=1&b=2&sign_type=RSA2"
    assert wire.base_string(params, exclude=("sign", "sign_type")) == "a=1&b=2"


def test_a_signature_verifies_with_the_public_key_and_nothing_else() -> None:
    key = wire.private_key(MERCHANT_PRIVATE)
    signature = wire.sign(key, "a=1&b=2")
    wire.verify(wire.public_key(MERCHANT_PUBLIC), "a=1&b=2", signature)
    with pytest.raises(wire.SignatureError):
        wire.verify(wire.public_key(MERCHANT_PUBLIC), "a=1&b=3", signature)
    _, other_public = new_key_pair()
    with pytest.raises(wire.SignatureError):
        wire.verify(wire.public_key(other_public), "a=1&b=2", signature)
    with pytest.raises(wire.SignatureError):
        wire.verify(wire.public_key(MERCHANT_PUBLIC), "a=1&b=2", "not base64!")


def test_keys_in_the_bare_base64_form_of_alipays_console_load() -> None:
    bare = "".join(MERCHANT_PUBLIC.strip().splitlines()[1:-1])
    assert (
        wire.public_key(bare).public_numbers() == wire.public_key(MERCHANT_PUBLIC).public_numbers()
    )


def test_the_response_sign_covers_the_exact_text_of_the_node() -> None:
    text = '{"code":"10000","msg":"Success","total_amount":"88.88", "trade_status":"TRADE_SUCCESS"}'
    signature = wire.sign(wire.private_key(MERCHANT_PRIVATE), text)
    body = f'{{"alipay_trade_query_response": {text} ,"sign":"{signature}"}}'
    node, raw, found = wire.response_node(body, "alipay.trade.query")
    assert (raw, found, node["total_amount"]) == (text, signature, "88.88")
    wire.verify(wire.public_key(MERCHANT_PUBLIC), raw, found)
    error = '{"error_response":{"code":"40002","msg":"Invalid Arguments"}}'
    assert wire.response_node(error, "alipay.trade.query")[0]["code"] == "40002"


def test_amounts_are_exact_yuan_with_two_decimals() -> None:
    assert [wire.yuan(v) for v in (1, 10, 12_900, 0)] == ["0.01", "0.10", "129.00", "0.00"]
    assert [wire.fen(v) for v in ("0.01", "129.00", "88.8", "100000000.00")] == [
        1,
        12_900,
        8_880,
        10_000_000_000,
    ]
    for bad in ("0.001", "-1.00", "NaN", "abc", "1e400"):
        with pytest.raises(ValueError):
            wire.fen(bad)


def test_times_are_china_time() -> None:
    moment = datetime(2026, 1, 31, 16, 30, 5, tzinfo=UTC)
    assert wire.china_time(moment) == "2026-02-01 00:30:05"
    assert wire.from_china_time("2026-02-01 00:30:05") == moment


async def test_a_session_is_a_gateway_url_signed_with_our_key(alipay: AlipayProvider) -> None:
    request = SessionRequest(
        "ord_1", "pat_1", PaymentMethod.WALLET, Money(amount=12_990, currency="CNY"), None
    )
    session = await alipay.create_session(request)
    assert session.session_id == "pat_1" and session.checkout_url is not None
    url = urlparse(session.checkout_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://openapi.alipay.com/gateway.do"
    params = dict(parse_qsl(url.query))
    assert (params["method"], params["app_id"], params["sign_type"]) == (
        "alipay.trade.page.pay",
        APP_ID,
        "RSA2",
    )
    assert params["notify_url"] == "https://shop.example/v1/webhooks/alipay"
    biz = json.loads(params["biz_content"])
    assert (biz["out_trade_no"], biz["total_amount"]) == ("pat_1", "129.90")
    assert biz["product_code"] == "FAST_INSTANT_TRADE_PAY"
    wire.verify(wire.public_key(MERCHANT_PUBLIC), wire.base_string(params), params["sign"])


def _trade(status: str = "TRADE_SUCCESS") -> Trade:
    trade = Trade("pat_2", "2026000000000000000000000002", 5_000, None, "ord_2", status=status)
    trade.paid_at = datetime.now(UTC)
    return trade


def test_a_signed_notify_is_read_exactly(stub: AlipayStub, alipay: AlipayProvider) -> None:
    callback = alipay.verify_callback({}, stub.notify(_trade()))
    assert (callback.session_id, callback.order_id, callback.outcome) == (
        "pat_2",
        "ord_2",
        "succeeded",
    )
    assert callback.amount == Money(amount=5_000, currency="CNY")
    assert callback.reference == "2026000000000000000000000002"
    closed = alipay.verify_callback({}, stub.notify(_trade("TRADE_CLOSED")))
    assert (closed.outcome, closed.reason) == ("failed", "trade_closed")
    with pytest.raises(IgnoredCallback):
        alipay.verify_callback({}, stub.notify(_trade("WAIT_BUYER_PAY")))


def test_a_tampered_forged_or_foreign_notify_is_refused(
    stub: AlipayStub, alipay: AlipayProvider
) -> None:
    genuine = dict(parse_qsl(stub.notify(_trade()).decode()))
    tampered = urlencode({**genuine, "total_amount": "0.01"}).encode()
    with pytest.raises(InvalidCallback, match="does not match"):
        alipay.verify_callback({}, tampered)
    forger = AlipayStub(MERCHANT_PUBLIC)  # another key pair than Alipay's
    with pytest.raises(InvalidCallback, match="does not match"):
        alipay.verify_callback({}, forger.notify(_trade()))
    with pytest.raises(InvalidCallback, match="another app"):
        alipay.verify_callback({}, stub.notify(_trade(), app_id="2021999999999999"))
    unsigned = urlencode({k: v for k, v in genuine.items() if k != "sign"}).encode()
    with pytest.raises(InvalidCallback, match="missing"):
        alipay.verify_callback({}, unsigned)
    with pytest.raises(MalformedCallback):
        alipay.verify_callback({}, b"\xff\xfe")
    with pytest.raises(MalformedCallback, match="charset"):
        alipay.verify_callback({}, urlencode({**genuine, "charset": "no-such"}).encode())
