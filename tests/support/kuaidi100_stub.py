"""A local Kuaidi100, speaking its wire format, for the tests.

Kuaidi100 has no local server, so this stub answers as its documents describe (the
official SDKs' request and response types agree): form POSTs to

- `/label/order` (e-waybill order, `method=order`, `key`, `t`, `param`, `sign` =
  MD5(param + t + key + secret) upper-case), answered `{"code": 200, "message":
  "success", "time": ..., "success": true, "data": {"kuaidinum", "label", "taskId",
  ...}}`; with `orderId` and `reorder: false` a repeat answers the first booking;
  a bad signature is `code` 30002 "验证签名失败", an unknown key 30003;
- `/poll` (subscription, `schema=json`, `param` with `company`, `number`, `key`, `phone`
  for SF and ZTO (the last four digits do) and
  `parameters.callbackurl/salt/resultv2`), answered `{"result": true, "returnCode":
  "200", "message": "提交成功"}`, `501` "重复订阅" for a parcel already followed, `600`
  for an unknown key;
- `/poll/query.do` (real-time query, `customer`, `param`, `sign` = MD5(param + key +
  customer)), answered with the tracking (`message`, `nu`, `ischeck`, `condition`,
  `com`, `status`, `state`, `data[]` newest first) or `{"result": false, "returnCode":
  "500", "message": "查询无结果, 请隔段时间再查"}` (a full-width comma).

Pushes are form POSTs to the subscription's callback: `param` = `{"status": "polling" |
"shutdown" | "abort", "billstatus", "message", "autoCheck", "comOld", "comNew",
"lastResult": {...}}` and `sign` = MD5(param + salt). `abort` ends the subscription
("3天查询无记录", "60天无变化"), after which the parcel may be subscribed again; a courier
code Kuaidi100 corrects (`correct`) is pushed as `abort` with `autoCheck` "0", `comOld`
empty and `comNew` the right code, Kuaidi100 follows the parcel under that code itself, and
its later pushes carry `autoCheck` "1", `comOld` and `comNew`. Faults are scripted per
endpoint: `http_500`, `too_many` (429 with Retry-After), `server_error` (code -1),
`timeout` (answers after the caller gave up) and `lost` (does the work, then drops the
connection unanswered).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import httpx
from aiohttp import web

from deploy.local.ports import free_port
from services.logistics.carriers import kuaidi100_signing as wire

CHINA = timezone(timedelta(hours=8))
_TIME = "%Y-%m-%d %H:%M:%S"
_LOST = web.RequestKey("lost", bool)  # a `lost` fault: the work is done, the answer dropped
PREFIX = {"shunfeng": "SF", "zhongtong": "7", "yuantong": "YT", "jd": "JDV"}
# advanced state names (resultv2=4) of the codes the tests use
NAMES = {"1": "揽收", "103": "已揽收", "0": "在途", "1001": "到达派件城市", "5": "派件",
         "2": "疑难", "3": "签收", "301": "本人签收", "14": "拒签", "6": "退回",
         "4": "退签"}  # fmt: skip


@dataclass
class Order:
    order_id: str
    kuaidicom: str
    kuaidinum: str
    task_id: str
    param: dict[str, Any]


@dataclass
class Parcel:
    company: str
    number: str
    phone: str = ""  # the recipient's, as booked
    rows: list[dict[str, str]] = field(default_factory=list)  # oldest first
    callback_url: str | None = None
    salt: str | None = None
    subscription: dict[str, Any] | None = None
    com_old: str = ""  # the code we gave, once Kuaidi100 corrected it to `company`

    @property
    def state(self) -> str:
        code = self.rows[-1]["statusCode"] if self.rows else "0"
        return code if len(code) < 3 else code[0] if len(code) == 3 else "0"

    def result(self) -> dict[str, Any]:
        """The tracking, as a query answers it and a push carries it in `lastResult`."""
        return {
            "message": "ok",
            "nu": self.number,
            "ischeck": "1" if self.state == "3" else "0",
            "condition": "F00" if self.state == "3" else "00",
            "com": self.company,
            "status": "200",
            "state": self.state,
            "data": list(reversed(self.rows)),
        }


class Kuaidi100Stub:
    def __init__(self, key: str, customer: str, secret: str) -> None:
        self.key, self.customer, self.secret = key, customer, secret
        self.orders: dict[str, Order] = {}  # by orderId
        self.parcels: dict[str, Parcel] = {}  # by number
        self.calls: dict[str, list[dict[str, str]]] = defaultdict(list)  # by endpoint
        self.push_answers: list[tuple[int, str]] = []
        self._aborts: dict[str, dict[str, str]] = {}  # by number: the abort still to push
        self._faults: dict[str, list[str]] = defaultdict(list)
        self.late_seconds = 2.0  # how late a `timeout` fault answers
        self._runner: web.AppRunner | None = None
        self.port = free_port()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/label/order", self._order)
        app.router.add_post("/poll", self._subscribe)
        app.router.add_post("/poll/query.do", self._query)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, endpoint: str, *faults: str) -> None:
        """`endpoint`: order | subscribe | query."""
        self._faults[endpoint].extend(faults)

    def booked(self, order_id: str) -> list[Order]:
        return [o for o in self.orders.values() if o.order_id == order_id]

    # the courier moves the parcel, and Kuaidi100 pushes (or not)

    def advance(self, number: str, code: str, context: str, area: str, *, late_by: int = 0) -> None:
        """The courier reports a step (a `statusCode`) of the parcel: now, or two seconds
        after the step before (Kuaidi100's times are to the second); `late_by` steps late, a
        step that happened a second before the last `late_by` ones, known to Kuaidi100 only
        now."""
        rows = self.parcels[number].rows
        moment = datetime.now(CHINA).replace(microsecond=0, tzinfo=None)
        if rows:
            moment = max(moment, datetime.strptime(rows[-1]["ftime"], _TIME) + timedelta(seconds=2))
        if late_by:
            before = datetime.strptime(rows[-late_by]["ftime"], _TIME)
            moment = before - timedelta(seconds=1)
        text = moment.strftime(_TIME)
        rows.append({
            "time": text, "ftime": text, "context": context, "areaCode": "",
            "areaName": area, "status": NAMES.get(code, "在途"), "statusCode": code,
        })  # fmt: skip
        rows.sort(key=lambda r: r["ftime"])

    def abort(self, number: str, message: str = "3天查询无记录") -> None:
        """Kuaidi100 stops following the parcel; its next push says so (`status` abort)."""
        parcel = self.parcels[number]
        parcel.subscription = None
        self._aborts[number] = {"status": "abort", "message": message, "autoCheck": "0",
                                "comOld": "", "comNew": ""}  # fmt: skip

    def correct(self, number: str, company: str) -> None:
        """Kuaidi100 finds the parcel under another courier code and follows it under that
        one; its next push is the abort that names it (`comNew`)."""
        parcel = self.parcels[number]
        parcel.com_old, parcel.company = parcel.company, company
        self._aborts[number] = {"status": "abort", "message": "", "autoCheck": "0",
                                "comOld": "", "comNew": company}  # fmt: skip

    def push_body(self, number: str, *, salt: str | None = None) -> bytes:
        """The push of the parcel's whole tracking, signed with `salt` (else its own); the
        abort when one is due (it is pushed until answered)."""
        parcel = self.parcels[number]
        delivered = parcel.state == "3"
        corrected = {"autoCheck": "1", "comOld": parcel.com_old, "comNew": parcel.company}
        state = self._aborts.get(number) or (
            corrected if parcel.com_old else {"autoCheck": "0", "comOld": "", "comNew": ""}
        )
        param = json.dumps(
            {
                "status": "shutdown" if delivered else "polling",
                "billstatus": "check" if delivered else "got",
                "message": "",
                **state,
                "lastResult": parcel.result(),
            },
            ensure_ascii=False,
        )
        sign = wire.push_sign(param, salt if salt is not None else str(parcel.salt))
        return urlencode({"param": param, "sign": sign}).encode()

    async def push(self, number: str, *, salt: str | None = None) -> httpx.Response:
        """Posts the push to the subscription's callback, once."""
        parcel = self.parcels[number]
        assert parcel.callback_url, f"{number} is not subscribed"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        async with httpx.AsyncClient(timeout=10) as client:
            reply = await client.post(
                parcel.callback_url, content=self.push_body(number, salt=salt), headers=headers
            )
        self.push_answers.append((reply.status_code, reply.text))
        if reply.status_code == 200 and reply.json().get("result") is True:
            self._aborts.pop(number, None)  # told: the next push is of tracking again
        return reply

    # the API

    async def _fault(self, endpoint: str, request: web.Request) -> web.StreamResponse | None:
        fault = self._faults[endpoint].pop(0) if self._faults[endpoint] else None
        if fault == "http_500":
            return web.Response(status=500, text="Internal Server Error")
        if fault == "too_many":
            return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "1"})
        if fault == "server_error":
            return web.json_response({"code": -1, "message": "服务器错误", "time": 1,
                                      "success": False, "data": None})  # fmt: skip
        if fault == "timeout":
            await asyncio.sleep(self.late_seconds)
        if fault == "lost":
            request[_LOST] = True
        return None

    def _answer(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        if request.get(_LOST):  # done, and the answer never reaches the caller
            assert request.transport is not None
            request.transport.abort()
            raise ConnectionResetError("answer lost")
        return web.json_response(body, dumps=lambda v: json.dumps(v, ensure_ascii=False))

    async def _order(self, request: web.Request) -> web.StreamResponse:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.calls["order"].append(form)
        if (faulted := await self._fault("order", request)) is not None:
            return faulted
        if form.get("key") != self.key:
            return self._answer(request, _label_error(30003, "账号信息不正确"))
        expected = wire.order_sign(form.get("param", ""), form.get("t", ""), self.key, self.secret)
        if form.get("method") != "order" or form.get("sign") != expected:
            return self._answer(request, _label_error(30002, "验证签名失败"))
        param = json.loads(form["param"])
        missing = [k for k in ("kuaidicom", "recMan", "sendMan") if not param.get(k)]
        missing += [
            f"{man}.{k}"
            for man in ("recMan", "sendMan")
            for k in ("name", "printAddr")
            if not (param.get(man) or {}).get(k)
        ]
        if not any((param.get("recMan") or {}).get(k) for k in ("mobile", "tel")):
            missing.append("recMan.mobile")  # a mobile or a telephone, one of them
        if missing:
            return self._answer(request, _label_error(30001, f"参数错误: {missing}"))
        order_id = param.get("orderId") or secrets.token_hex(8)
        order = self.orders.get(order_id)
        if order is None or param.get("reorder", True) is not False:
            company = param["kuaidicom"]
            number = f"{PREFIX.get(company, 'KD')}{secrets.randbelow(10**13):013d}"
            order = Order(order_id, company, number, secrets.token_hex(16), param)
            self.orders[order_id] = order
            self.parcels[number] = Parcel(company, number, str(param["recMan"].get("mobile", "")))
        data = {"kuaidinum": order.kuaidinum, "taskId": order.task_id,
                "label": f"{self.base}/label/{order.task_id}.png"
                if param.get("printType") == "IMAGE" else None}  # fmt: skip
        return self._answer(request, {"code": 200, "message": "success", "time": 15,
                                      "success": True, "data": data})  # fmt: skip

    async def _subscribe(self, request: web.Request) -> web.StreamResponse:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.calls["subscribe"].append(form)
        if (faulted := await self._fault("subscribe", request)) is not None:
            return faulted
        param = json.loads(form.get("param") or "{}")
        if form.get("schema") != "json" or param.get("key") != self.key:
            return self._answer(request, _poll_answer("600", "您不是合法的订阅者"))
        parcel = self.parcels.get(param.get("number", ""))
        parameters = param.get("parameters") or {}
        if parcel is None or param.get("company") != parcel.company:
            return self._answer(request, _poll_answer("700", "订阅方的订阅数据存在错误"))
        if not _phone_matches(parcel, parameters.get("phone")):
            return self._answer(request, _poll_answer("700", "顺丰单号必须提供手机号"))
        if not parameters.get("callbackurl"):
            return self._answer(request, _poll_answer("700", "错误的回调地址"))
        if parcel.subscription is not None:
            return self._answer(request, _poll_answer("501", "重复订阅"))
        parcel.subscription = param
        parcel.callback_url, parcel.salt = parameters["callbackurl"], parameters.get("salt")
        return self._answer(request, {"result": True, "returnCode": "200", "message": "提交成功"})

    async def _query(self, request: web.Request) -> web.StreamResponse:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.calls["query"].append(form)
        if (faulted := await self._fault("query", request)) is not None:
            return faulted
        param_text = form.get("param", "")
        if form.get("customer") != self.customer or form.get("sign") != wire.query_sign(
            param_text, self.key, self.customer
        ):
            return self._answer(request, _poll_answer("601", "签名错误或KEY无效"))
        param = json.loads(param_text)
        parcel = self.parcels.get(param.get("num", ""))
        if (
            parcel is None
            or not parcel.rows
            or parcel.company != param.get("com")
            or not _phone_matches(parcel, param.get("phone"))
        ):
            return self._answer(request, _poll_answer("500", "查询无结果\uff0c请隔段时间再查"))
        return self._answer(request, parcel.result())


# the couriers whose tracking Kuaidi100 gives only with the recipient's (or sender's)
# phone, or its last four digits
NEEDS_PHONE = {"shunfeng", "shunfengkuaiyun", "zhongtong"}


def _phone_matches(parcel: Parcel, phone: object) -> bool:
    if parcel.company not in NEEDS_PHONE:
        return True
    given = str(phone or "")
    return len(given) >= 4 and parcel.phone.endswith(given)


def _label_error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "time": 3, "success": False, "data": None}


def _poll_answer(code: str, message: str) -> dict[str, Any]:
    return {"result": False, "returnCode": code, "message": message}
