"""A local Alipay open platform gateway, speaking its wire format, for the tests.

Alipay has no local server, so this stub answers as its gateway documents: the page/wap
pay URL (GET, the cashier), `alipay.trade.query` and `alipay.trade.refund` (form POSTs)
with `{"<method>_response": {...}, "sign": "..."}` bodies signed RSA2 over the node's
exact JSON text, with a key pair made here (the "Alipay" keys). It checks every request's
RSA2 signature with the merchant's public key, pays one refund per `out_request_no` (a
repeat answers the same refund with `fund_change: N`, as Alipay does) and posts the
asynchronous notify to the trade's `notify_url` until it is answered `success`. Faults
are scripted per call: `http_500`, `unavailable` (code 20000), `system_error` (40004
ACQ.SYSTEM_ERROR), `too_many` (429 with Retry-After), `timeout` (answers after the
caller gave up), `lost` (does the work, then drops the connection without an answer)
and `forged_answer` (does the work, answers signed by another key).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from deploy.local.ports import free_port
from services.payment.providers import alipay_signing as wire

APP_ID = "2021000000000001"
SELLER_ID = "2088000000000001"


def new_key_pair() -> tuple[str, str]:
    """An RSA2 key pair as PEM: (private PKCS#8, public SubjectPublicKeyInfo)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@dataclass
class Trade:
    out_trade_no: str
    trade_no: str
    total_fen: int
    notify_url: str | None
    passback_params: str | None
    status: str = "WAIT_BUYER_PAY"
    paid_at: datetime | None = None
    refunds: dict[str, int] = field(default_factory=dict)  # out_request_no -> fen


@dataclass
class Call:
    method: str
    params: dict[str, str]
    biz: dict[str, Any]


class AlipayStub:
    def __init__(self, merchant_public_key: str, *, app_id: str = APP_ID) -> None:
        self.app_id = app_id
        self.private_pem, self.public_pem = new_key_pair()
        self._key = wire.private_key(self.private_pem)
        self._merchant = wire.public_key(merchant_public_key)
        self.trades: dict[str, Trade] = {}
        self.calls: list[Call] = []
        self.refunds_paid: list[tuple[str, str, int]] = []  # (trade_no, out_request_no, fen)
        self.notify_answers: list[tuple[int, str]] = []
        self._faults: list[str] = []
        self.late_seconds = 2.0  # how late a `timeout` fault answers
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = free_port()

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.port}/gateway.do"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway.do", self._cashier)
        app.router.add_post("/gateway.do", self._api)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, *faults: str) -> None:
        self._faults.extend(faults)

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # the cashier: the customer opens the signed page/wap pay URL

    async def _cashier(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        problem = self._check(params)
        if problem:
            return web.Response(status=400, text=problem)
        biz = json.loads(params["biz_content"])
        self.calls.append(Call(params["method"], params, biz))
        out_trade_no = biz["out_trade_no"]
        if out_trade_no not in self.trades:
            self.trades[out_trade_no] = Trade(
                out_trade_no,
                f"2026{uuid.uuid4().int % 10**24:024d}",
                wire.fen(biz["total_amount"]),
                params.get("notify_url"),
                biz.get("passback_params"),
            )
        return web.Response(text=f"<html><body>Alipay cashier for {out_trade_no}</body></html>")

    def buyer_pays(self, out_trade_no: str, *, notify: bool = True) -> Trade:
        """The buyer pays in the cashier; the notify follows unless it is to be lost."""
        trade = self.trades[out_trade_no]
        trade.status, trade.paid_at = "TRADE_SUCCESS", datetime.now(UTC)
        if notify and trade.notify_url:
            task = asyncio.ensure_future(self._send_notify(trade.notify_url, self.notify(trade)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return trade

    def notify(self, trade: Trade, *, app_id: str | None = None, **changes: str) -> bytes:
        """The trade's asynchronous notify as Alipay posts it: a signed form body."""
        paid = trade.paid_at or datetime.now(UTC)
        amount = wire.yuan(trade.total_fen)
        fields = {
            "notify_time": wire.china_time(datetime.now(UTC)),
            "notify_type": "trade_status_sync",
            "notify_id": uuid.uuid4().hex + "0",
            "charset": "utf-8",
            "version": "1.0",
            "sign_type": "RSA2",
            "app_id": app_id or self.app_id,
            "auth_app_id": app_id or self.app_id,
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_id": "2088102177846880",
            "seller_id": SELLER_ID,
            "trade_status": trade.status,
            "total_amount": amount,
            "receipt_amount": amount,
            "invoice_amount": amount,
            "buyer_pay_amount": amount,
            "point_amount": "0.00",
            "subject": f"Order {trade.passback_params}",
            "gmt_create": wire.china_time(paid),
            "gmt_payment": wire.china_time(paid),
            "fund_bill_list": json.dumps([{"amount": amount, "fundChannel": "ALIPAYACCOUNT"}]),
            "passback_params": trade.passback_params or "",
            **changes,
        }
        base = wire.base_string(fields, exclude=("sign", "sign_type"))
        return urlencode({**fields, "sign": wire.sign(self._key, base)}).encode()

    async def _send_notify(self, url: str, body: bytes) -> None:
        """Like Alipay: posts until the answer is exactly `success` (here, a few times)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        async with httpx.AsyncClient(timeout=5) as client:
            for attempt in range(1, 6):
                try:
                    reply = await client.post(url, content=body, headers=headers)
                    self.notify_answers.append((reply.status_code, reply.text))
                    if reply.text == "success":
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2 * attempt)

    # the API: trade.query and trade.refund

    async def _api(self, request: web.Request) -> web.StreamResponse:
        params = {k: str(v) for k, v in (await request.post()).items()}
        method = params.get("method", "")
        problem = self._check(params)
        biz = json.loads(params.get("biz_content") or "{}")
        self.calls.append(Call(method, params, biz))
        fault = self._faults.pop(0) if self._faults and not problem else None
        if fault == "http_500":
            return web.Response(status=500, text="Internal Server Error")
        if fault == "too_many":
            return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "1"})
        if fault == "unavailable":
            return self._answer(method, _error("20000", "Service Currently Unavailable",
                                               "isp.unknow-error", "系统繁忙"))  # fmt: skip
        if fault == "system_error":
            return self._answer(method, _error("40004", "Business Failed",
                                               "ACQ.SYSTEM_ERROR", "系统错误"))  # fmt: skip
        if fault == "timeout":
            await asyncio.sleep(self.late_seconds)
        if problem:
            node = _error("40002", "Invalid Arguments", "isv.invalid-signature", problem)
            return web.json_response({_node_name(method): node})  # unsigned, as Alipay does
        node = self._perform(method, biz)
        if fault == "lost":  # done, and the answer never reaches the caller
            assert request.transport is not None
            request.transport.abort()
            raise ConnectionResetError("answer lost")
        if fault == "forged_answer":  # done, and the answer is signed by someone else
            return self._answer(method, node, key=wire.private_key(new_key_pair()[0]))
        return self._answer(method, node)

    def _check(self, params: dict[str, str]) -> str | None:
        if params.get("app_id") != self.app_id:
            return "unknown app_id"
        if params.get("sign_type") != "RSA2" or params.get("charset") != "utf-8":
            return "sign_type RSA2 and charset utf-8 expected"
        for required in ("method", "format", "timestamp", "version", "biz_content"):
            if not params.get(required):
                return f"missing {required}"
        try:
            wire.from_china_time(params["timestamp"])
            wire.verify(self._merchant, wire.base_string(params), params.get("sign"))
        except (ValueError, wire.SignatureError) as exc:
            return f"invalid signature: {exc}"
        return None

    def _perform(self, method: str, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._find(biz)
        if method == "alipay.trade.query":
            return self._query(trade)
        if method == "alipay.trade.refund":
            return self._refund(trade, biz)
        return _error("40004", "Business Failed", "isv.invalid-method", "unknown method")

    def _find(self, biz: dict[str, Any]) -> Trade | None:
        if "out_trade_no" in biz:
            return self.trades.get(biz["out_trade_no"])
        return next((t for t in self.trades.values() if t.trade_no == biz.get("trade_no")), None)

    def _query(self, trade: Trade | None) -> dict[str, Any]:
        if trade is None:
            return _error("40004", "Business Failed", "ACQ.TRADE_NOT_EXIST", "交易不存在")
        node = {
            "code": "10000",
            "msg": "Success",
            "buyer_logon_id": "159****5620",
            "buyer_pay_amount": "0.00",
            "invoice_amount": "0.00",
            "out_trade_no": trade.out_trade_no,
            "point_amount": "0.00",
            "receipt_amount": "0.00",
            "total_amount": wire.yuan(trade.total_fen),
            "trade_no": trade.trade_no,
            "trade_status": trade.status,
            "buyer_user_id": "2088102177846880",
        }
        if trade.paid_at is not None:
            node["send_pay_date"] = wire.china_time(trade.paid_at)
            node["buyer_pay_amount"] = node["receipt_amount"] = node["total_amount"]
        return node

    def _refund(self, trade: Trade | None, biz: dict[str, Any]) -> dict[str, Any]:
        if trade is None:
            return _error("40004", "Business Failed", "ACQ.TRADE_NOT_EXIST", "交易不存在")
        key, fen = biz["out_request_no"], wire.fen(biz["refund_amount"])
        changed = key not in trade.refunds
        if changed:
            if trade.status == "TRADE_FINISHED":
                return _error("40004", "Business Failed", "ACQ.TRADE_HAS_FINISHED", "交易已完结")
            if trade.status != "TRADE_SUCCESS":
                return _error("40004", "Business Failed", "ACQ.TRADE_STATUS_ERROR", "状态不合法")
            if sum(trade.refunds.values()) + fen > trade.total_fen:
                return _error("40004", "Business Failed", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                              "退款金额超限")  # fmt: skip
            trade.refunds[key] = fen
            self.refunds_paid.append((trade.trade_no, key, fen))
        return {
            "code": "10000",
            "msg": "Success",
            "buyer_logon_id": "159****5620",
            "buyer_user_id": "2088102177846880",
            "fund_change": "Y" if changed else "N",
            "gmt_refund_pay": wire.china_time(datetime.now(UTC)),
            "out_trade_no": trade.out_trade_no,
            "refund_fee": wire.yuan(sum(trade.refunds.values())),
            "send_back_fee": "0.00",
            "trade_no": trade.trade_no,
        }

    def _answer(
        self, method: str, node: dict[str, Any], key: rsa.RSAPrivateKey | None = None
    ) -> web.Response:
        """The node's exact JSON text, signed, inside the response body."""
        text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
        signature = wire.sign(key or self._key, text)
        body = f'{{"{_node_name(method)}":{text},"sign":"{signature}"}}'

        return web.Response(text=body, content_type="application/json", charset="utf-8")


def _node_name(method: str) -> str:
    return method.replace(".", "_") + "_response" if method else "error_response"


def _error(code: str, msg: str, sub_code: str, sub_msg: str) -> dict[str, Any]:
    return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}
