"""The exchange routes: who may do what, clear refusals naming the field, retries with
the same key, and nothing written when refused."""

from __future__ import annotations

from datetime import timedelta

from shared.runtime import Runtime
from tests.integration.returns.exchange_support import (
    TEA_1,
    act,
    ask_exchange,
    delivered_order,
    receive,
    until_exchange,
)
from tests.integration.returns.support import ask, paid_order
from tests.support.events import new_order_id, now
from tests.support.http import OPS, SHOP, client, customer

CHANGED_MIND = {**TEA_1, "reason": "changed_mind"}


async def test_only_the_orders_token_or_the_shop_may_ask_and_only_operations_receive(
    returns: Runtime,
) -> None:
    order_id = await delivered_order(returns)
    other = new_order_id()
    url = f"/v1/orders/{order_id}/exchanges"
    async with client(returns) as http:
        anonymous = await http.post(url, json=CHANGED_MIND)
        wrong_order = await http.post(url, json=CHANGED_MIND, headers=customer(other))
        by_shop = await http.post(url, json=CHANGED_MIND, headers=SHOP)
        listed_by_other = await http.get(url, headers=customer(other))
        listed = await http.get(url, headers=customer(order_id))
        missing = await http.get("/v1/exchanges/ex_nope", headers=SHOP)
        anonymous_read = await http.get("/v1/exchanges/ex_nope")
    assert (anonymous.status_code, wrong_order.status_code) == (401, 403)
    assert by_shop.status_code == 201 and by_shop.json()["requested_by"] == "customer"
    assert listed_by_other.status_code == 403
    assert [x["id"] for x in listed.json()["exchanges"]] == [by_shop.json()["id"]]
    assert missing.status_code == 404 and missing.json()["error"] == "exchange_not_found"
    assert anonymous_read.status_code == 401
    exchange_id = by_shop.json()["id"]
    as_customer = await act(returns, exchange_id, "return-received", customer(order_id))
    assert as_customer.status_code == 403
    too_early = await receive(returns, exchange_id)
    assert too_early.status_code == 409 and too_early.json()["state"] == "requested"
    unknown = await act(returns, "ex_nope", "return-received", OPS)
    assert unknown.status_code == 404


async def test_a_retry_with_the_same_key_is_the_same_exchange(returns: Runtime) -> None:
    order_id = await delivered_order(returns)

    first = await ask_exchange(returns, order_id, CHANGED_MIND, key="swap-1")
    retry = await ask_exchange(returns, order_id, CHANGED_MIND, key="swap-1")

    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["id"] == retry.json()["id"]
    another = await ask_exchange(returns, order_id, CHANGED_MIND, key="swap-2")
    assert another.status_code == 409 and another.json()["error"] == "line_has_open_request"
    refund = await ask(returns, order_id, {"reason": "changed_mind", "lines": [TEA_1_LINE]})
    assert refund.status_code == 409 and refund.json()["error"] == "line_has_open_request"
    cup = await ask(returns, order_id, {"reason": "changed_mind", "lines": [CUP_LINE]})
    assert cup.status_code == 201, "another line is free"


async def test_a_refund_request_open_on_the_line_blocks_an_exchange(returns: Runtime) -> None:
    order_id = await delivered_order(returns)
    refund = await ask(returns, order_id, {"reason": "changed_mind", "lines": [TEA_1_LINE]})
    assert refund.status_code == 201, refund.text

    response = await ask_exchange(returns, order_id, CHANGED_MIND)

    assert response.status_code == 409
    problem = response.json()
    assert (problem["error"], problem["state"]) == ("line_has_open_request", "open")
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_refusals_name_the_field_and_write_nothing(returns: Runtime) -> None:
    order_id = await delivered_order(returns)
    cases = [
        ({**CHANGED_MIND, "line_id": "l9"}, "unknown_line", "line_id"),
        ({**CHANGED_MIND, "replacement_sku": "SKU-TEA"}, "same_variant", "replacement_sku"),
        ({**CHANGED_MIND, "quantity": 3}, "over_quantity", "quantity"),
        ({**CHANGED_MIND, "reason": "lost"}, "reason_not_for_exchange", "reason"),
        ({**CHANGED_MIND, "quantity": 0}, None, "quantity"),
        ({**CHANGED_MIND, "reason": "bored"}, None, "reason"),
    ]
    for body, code, field in cases:
        response = await ask_exchange(returns, order_id, body)
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        assert field in [f["field"] for f in problem["fields"]], problem
        if code is not None:
            assert (problem["error"], problem["field"]) == (code, field)
    async with client(returns) as http:
        listed = await http.get(f"/v1/orders/{order_id}/exchanges", headers=customer(order_id))
    assert listed.json()["exchanges"] == []


async def test_the_window_and_the_delivery_decide_who_may_exchange(returns: Runtime) -> None:
    late = await paid_order(
        returns, shipped_at=now() - timedelta(days=12), delivered_at=now() - timedelta(days=10)
    )
    closed = await ask_exchange(returns, late, CHANGED_MIND)
    assert closed.status_code == 422
    assert (closed.json()["error"], closed.json()["field"]) == ("return_window_closed", "reason")
    quality = await ask_exchange(returns, late, {**TEA_1, "reason": "quality_problem"})
    assert quality.status_code == 201, quality.text
    assert quality.json()["return_shipping_paid_by"] == "shop"
    await until_exchange(returns, quality.json()["id"], late, "requested")

    on_its_way = await paid_order(returns, shipped_at=now())
    not_delivered = await ask_exchange(returns, on_its_way, CHANGED_MIND)
    assert not_delivered.status_code == 409
    assert not_delivered.json()["error"] == "not_delivered"
    unknown = await ask_exchange(returns, new_order_id(), CHANGED_MIND)
    assert unknown.status_code == 404 and unknown.json()["error"] == "order_unknown"


TEA_1_LINE = {"line_id": "l1", "quantity": 1}
CUP_LINE = {"line_id": "l2", "quantity": 1}
