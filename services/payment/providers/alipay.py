"""Alipay (wallet and online banking for customers in China) on its open platform gateway.

A payment session is a signed gateway URL (`alipay.trade.page.pay`, or `.wap.pay` on
phones) the customer opens: no server call, and `out_trade_no` is our attempt id, so the
same attempt is the same trade at Alipay. The outcome arrives as the asynchronous notify,
a form POST verified with RSA2 against Alipay's public key and answered `success`.
`alipay.trade.query` asks for a trade's state (reconciliation), `alipay.trade.refund`
refunds with `out_request_no` (our idempotency key): Alipay pays one refund per
`out_request_no` however often it is asked. Gateway answers are verified the same way.
Server calls go through a kept-alive client of its own (shared/http_client.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode

from services.payment.providers import alipay_signing as wire
from services.payment.providers.base import (
    Callback,
    IgnoredCallback,
    InvalidCallback,
    MalformedCallback,
    ProviderError,
    RefundReceipt,
    Session,
    SessionRequest,
)
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.http_client import KeptAlive, Send, Unreachable, retry_after
from shared.logging import get_logger

log = get_logger(__name__)
GATEWAY = "https://openapi.alipay.com/gateway.do"
PAID = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})
CLOSED = "TRADE_CLOSED"
# 40004 business failures worth asking again (same key); every other one is final.
TRANSIENT_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR", "AOP.ACQ.SYSTEM_ERROR"})
_NOT_CLOSABLE = frozenset({"ACQ.TRADE_NOT_EXIST", "ACQ.TRADE_STATUS_ERROR"})
PRODUCTS = {"page": ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"),
            "wap": ("alipay.trade.wap.pay", "QUICK_WAP_WAY")}  # fmt: skip


class AlipayProvider:
    name = "alipay"
    acknowledgement = "success"  # the plain body Alipay's notify wants, else it sends again

    def __init__(
        self,
        *,
        app_id: str,
        private_key: str,
        alipay_public_key: str,
        gateway: str = GATEWAY,
        notify_url: str | None = None,
        return_url: str | None = None,
        product: Literal["page", "wap"] = "page",
        timeout_seconds: float = 10.0,
        concurrency: int = 20,
        send: Send | None = None,
    ) -> None:
        self.app_id = app_id
        self._key = wire.private_key(private_key)
        self._alipay_key = wire.public_key(alipay_public_key)
        self.gateway = gateway
        self.notify_url = notify_url
        self.return_url = return_url
        self.product = product
        # as many connections as calls in flight; `send` (tests) answers instead
        self.http = KeptAlive(timeout=timeout_seconds, concurrency=concurrency, send=send)

    async def run(self, _runtime: object) -> None:
        """Background task of the service: on shutdown, closes the connections to Alipay."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.http.aclose()

    def _params(self, method: str, biz: dict[str, Any], **extra: str | None) -> dict[str, str]:
        params = {
            "app_id": self.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": wire.china_time(datetime.now(UTC)),
            "version": "1.0",
            "biz_content": json.dumps(biz, separators=(",", ":"), ensure_ascii=False),
            **{k: v for k, v in extra.items() if v},
        }
        return wire.sign_params(self._key, params)

    async def create_session(self, request: SessionRequest) -> Session:
        if request.amount.currency != "CNY":
            raise ProviderError("currency_not_supported", transient=False)
        method, product_code = PRODUCTS[self.product]
        biz: dict[str, Any] = {
            "out_trade_no": request.attempt_id,
            "total_amount": wire.yuan(request.amount.amount),
            "subject": f"Order {request.order_id}",
            "product_code": product_code,
            "passback_params": quote(request.order_id, safe=""),  # URL-encoded, per Alipay
        }
        if request.expires_at is not None:
            biz["time_expire"] = wire.china_time(request.expires_at)
        params = self._params(method, biz, notify_url=self.notify_url, return_url=self.return_url)
        url = f"{self.gateway}?{urlencode(params)}"
        if request.method == PaymentMethod.PAY_FOR_ME:
            return Session(request.attempt_id, pay_link=url)
        return Session(request.attempt_id, checkout_url=url)

    def verify_callback(self, headers: Mapping[str, str], body: bytes) -> Callback:
        """The asynchronous notify: RSA2 over every field but `sign` and `sign_type`."""
        try:
            params = dict(
                parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedCallback("the notify is not a form") from exc
        charset = params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            try:
                params = dict(parse_qsl(body.decode(), keep_blank_values=True, encoding=charset))
            except LookupError as exc:
                raise MalformedCallback(f"unknown charset {charset!r}") from exc
        if params.get("sign_type", "RSA2") != "RSA2":
            raise InvalidCallback("only RSA2 notifies are accepted")
        base = wire.base_string(params, exclude=("sign", "sign_type"))
        try:
            wire.verify(self._alipay_key, base, params.get("sign"))
        except wire.SignatureError as exc:
            raise InvalidCallback(str(exc)) from exc
        if params.get("app_id") != self.app_id:
            raise InvalidCallback("the notify is for another app")
        if params.get("refund_fee") or params.get("gmt_refund"):
            raise IgnoredCallback("a refund's notify: refunds are recorded when paid")
        try:
            return self._callback(params, f"notify:{params['notify_id']}")
        except (KeyError, ValueError) as exc:
            raise MalformedCallback(f"the notify lacks or garbles {exc}") from exc

    def _callback(self, fields: Mapping[str, Any], event_id: str) -> Callback:
        """A trade's paid or closed state as a Callback; IgnoredCallback while it waits."""
        status = fields["trade_status"]
        if status not in PAID and status != CLOSED:
            raise IgnoredCallback(f"trade {status}")
        when = (
            fields.get("gmt_payment")
            or fields.get("send_pay_date")
            or fields.get("gmt_close")
            or fields.get("notify_time")
        )
        return Callback(
            event_id=event_id,
            session_id=fields["out_trade_no"],
            order_id=unquote(fields.get("passback_params", "")),  # echoed as it was sent
            outcome="succeeded" if status in PAID else "failed",
            amount=Money(amount=wire.fen(fields["total_amount"]), currency="CNY"),
            reference=fields.get("trade_no"),
            reason=None if status in PAID else "trade_closed",
            occurred_at=wire.from_china_time(when) if when else datetime.now(UTC),
        )

    async def query(self, session_id: str, attempt_id: str) -> Callback | None:
        """`alipay.trade.query` by our out_trade_no; None while the buyer has not paid (or
        not even opened the page: ACQ.TRADE_NOT_EXIST). The Callback carries no order id
        (the query does not echo `passback_params`): the caller knows the attempt."""
        node = await self._call("alipay.trade.query", {"out_trade_no": session_id})
        if node.get("code") == "40004" and node.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return None
        self._raise_unless_success(node)
        try:
            return self._callback(node, f"query:{node['trade_no']}:{node['trade_status']}")
        except IgnoredCallback:
            return None
        except (KeyError, ValueError) as exc:
            raise ProviderError(f"malformed_response: {exc}") from exc

    async def close_session(self, session_id: str, attempt_id: str) -> None:
        """`alipay.trade.close` by our out_trade_no. A trade the buyer never opened does not
        exist at Alipay (ACQ.TRADE_NOT_EXIST) and a paid one cannot be closed
        (ACQ.TRADE_STATUS_ERROR): nothing to do; its notify still comes."""
        node = await self._call("alipay.trade.close", {"out_trade_no": session_id})
        if node.get("code") == "40004" and node.get("sub_code") in _NOT_CLOSABLE:
            log.info("Alipay trade not closable", out_trade_no=session_id, why=node["sub_code"])
            return
        self._raise_unless_success(node)

    async def refund(self, reference: str, amount: Money, idempotency_key: str) -> RefundReceipt:
        biz = {
            "trade_no": reference,
            "refund_amount": wire.yuan(amount.amount),
            "out_request_no": idempotency_key,
        }
        node = await self._call("alipay.trade.refund", biz)
        self._raise_unless_success(node)
        return RefundReceipt(f"{node.get('trade_no', reference)}:{idempotency_key}")

    async def _call(self, method: str, biz: dict[str, Any]) -> dict[str, Any]:
        """One signed gateway call (form POST); the verified response node. Network
        failures, 5xx and 429 are transient ProviderErrors."""
        try:
            answer = await self.http.request("POST", self.gateway, data=self._params(method, biz))
        except Unreachable as exc:
            if exc.timed_out:
                raise ProviderError("provider_timeout") from exc
            raise ProviderError(f"provider_unreachable: {exc.kind}") from exc
        if answer.status == 429 or answer.status >= 500:
            wait = retry_after(answer.header("Retry-After"))
            raise ProviderError(f"provider_http_{answer.status}", retry_after=wait)
        try:
            node, raw, signature = wire.response_node(answer.text, method)
        except ValueError as exc:
            raise ProviderError(f"malformed_response: {exc}") from exc
        if signature or node.get("code") == "10000":  # Alipay signs every answer it can
            try:
                wire.verify(self._alipay_key, raw, signature)
            except wire.SignatureError as exc:
                raise ProviderError(f"response_signature: {exc}") from exc
        return node

    @staticmethod
    def _raise_unless_success(node: Mapping[str, Any]) -> None:
        code, sub_code = node.get("code"), str(node.get("sub_code") or "")
        if code == "10000":
            return
        reason = (sub_code or f"alipay_{code}").lower()
        if code == "20000":  # the service is unavailable for now
            raise ProviderError(f"provider_unavailable: {reason}")
        transient = code == "40004" and sub_code.upper() in TRANSIENT_SUB_CODES
        raise ProviderError(reason, transient=transient)
