"""The HTTP edge: who may do what, clear refusals, and nothing written when refused."""

from __future__ import annotations

from datetime import timedelta

from shared.runtime import Runtime
from tests.integration.returns.support import ask, operate, paid_order, seed
from tests.support.events import new_order_id, now
from tests.support.http import SHOP, client, customer

CUP_1 = {"line_id": "l2", "quantity": 1}


async def test_only_the_orders_token_or_the_shop_may_ask(returns: Runtime) -> None:
    order_id = new_order_id()
    other = new_order_id()
    await seed(returns, order_id)
    url = f"/v1/orders/{order_id}/refund-requests"
    body = {"reason": "changed_mind"}
    async with client(returns) as http:
        anonymous = await http.post(url, json=body)
        wrong_order = await http.post(url, json=body, headers=customer(other))
        by_shop = await http.post(url, json=body, headers=SHOP)
        listed = await http.get(url, headers=customer(other))
    assert anonymous.status_code == 401
    assert wrong_order.status_code == 403
    assert listed.status_code == 403
    assert by_shop.status_code == 201 and by_shop.json()["requested_by"] == "customer"


async def test_only_operations_approve_reject_or_receive(returns: Runtime) -> None:
    order_id = await paid_order(returns, shipped_at=now() - timedelta(days=1))
    request = (
        await ask(
            returns,
            order_id,
            {"reason": "price_dropped", "amount": {"amount": 500, "currency": "CNY"}},
        )
    ).json()
    async with client(returns) as http:
        for action in ("approve", "reject", "return-received"):
            url = f"/v1/refund-requests/{request['id']}/{action}"
            as_customer = await http.post(url, json={"reason": "x"}, headers=customer(order_id))
            assert as_customer.status_code == 403, action
        shipment = await http.post(
            f"/v1/refund-requests/{request['id']}/return-shipment",
            json={"courier": "yto", "tracking_number": "YT1"},
            headers=customer(order_id),
        )
    assert shipment.status_code == 409 and shipment.json()["error"] == "no_return_needed"
    missing = await operate(returns, "rr_missing", "approve")
    assert missing.status_code == 404


async def test_bad_input_names_the_field_and_writes_nothing(returns: Runtime) -> None:
    order_id = await paid_order(returns)
    cases = [
        ({"reason": "bored"}, "reason"),
        ({"reason": "damaged", "lines": [{"line_id": "l2", "quantity": 0}]}, "lines[0].quantity"),
        ({"reason": "damaged", "lines": [{"line_id": "l9", "quantity": 1}]}, "lines[0].line_id"),
        (
            {"reason": "price_dropped", "amount": {"amount": 100, "currency": "USD"}},
            "amount.currency",
        ),
        # without an amount it is reckoned from the catalogue's prices: none is lower
        ({"reason": "price_dropped"}, "reason"),
    ]
    for body, field in cases:
        response = await ask(returns, order_id, body)
        assert response.status_code == 422, (body, response.text)
        assert field in [f["field"] for f in response.json()["fields"]], response.json()
    async with client(returns) as http:
        listed = await http.get(
            f"/v1/orders/{order_id}/refund-requests", headers=customer(order_id)
        )
    assert listed.json()["refund_requests"] == []


async def test_an_order_returns_has_not_heard_of_is_not_found(returns: Runtime) -> None:
    response = await ask(returns, new_order_id(), {"reason": "changed_mind"})

    assert response.status_code == 404
    assert response.json()["error"] == "order_unknown"
    async with client(returns) as http:
        unknown = await http.get("/v1/refund-requests/rr_nope", headers=SHOP)
        anonymous = await http.get("/v1/refund-requests/rr_nope")
    assert unknown.status_code == 404 and anonymous.status_code == 401
