"""Kuaidi100 (快递100): one API for the couriers a Chinese shop ships with (SF, ZTO, YTO,
JD, ...): the e-waybill order books the parcel and returns its tracking number and label,
the subscription (`poll`) pushes its tracking to our callback, and the real-time query
(`poll/query.do`) reads it when the pushes stop.

Every call is a form POST (`kuaidi100_signing` has the signatures), on one kept-alive
client (shared/http_client.py) the account's couriers share. Booking is
idempotent on our shipment id: it is the order's `orderId` with `reorder=false`, for
which Kuaidi100 answers a repeat within 48 hours with the first booking's result; the
effects worker's retries all fall well inside that window (docs/providers.md).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from services.logistics.carriers import kuaidi100_signing as wire
from services.logistics.carriers.base import BookingError, Parcel
from services.logistics.domain.shipping import Checkpoint, CheckpointStatus
from shared.http_client import KeptAlive, Unreachable, retry_after

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
ORDER_URL = "https://api.kuaidi100.com/label/order"
SUBSCRIBE_URL = "https://poll.kuaidi100.com/poll"
QUERY_URL = "https://poll.kuaidi100.com/poll/query.do"
RESULTV2 = "4"  # checkpoints carry their state code (`statusCode`) and area names

# e-waybill answers (`code`) retried: -1 server error, 30002 bad signature / 30003 bad key
# (fixed by the operator), 30004 no orders left on the account (topped up); others are final
_ORDER_RETRIED = {-1, 500, 30002, 30003, 30004}
# subscription answers (`returnCode`): 200 taken, 501 already followed; 500 server error and
# 600/601 key problems retried; 700/701/702 (bad number, courier refused) are final
_SUBSCRIBED = {"200", "501"}
_SUBSCRIBE_RETRIED = {"500", "600", "601"}


@dataclass(frozen=True)
class Kuaidi100Account:
    key: str
    customer: str
    secret: str
    salt: str
    callback_url: str  # our push endpoint, `?courier=<name>` added per courier
    sender: Mapping[str, str]  # sendMan: name, mobile, printAddr
    accounts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # by company
    template_id: str | None = None  # with one, the label is an image link (printType IMAGE)
    api_base: str | None = None  # one host for every endpoint (tests: the stub)
    timeout_seconds: float = 10.0

    def url(self, real: str) -> str:
        if self.api_base is None:
            return real
        return self.api_base.rstrip("/") + "/" + real.split("/", 3)[3]


@dataclass(frozen=True)
class Booked:
    tracking_number: str
    label: str | None


@dataclass
class Kuaidi100Carrier:
    """One of our couriers (`name`, e.g. "sf") booked and tracked through Kuaidi100 under
    its company code (`company`, e.g. "shunfeng")."""

    name: str
    company: str
    account: Kuaidi100Account
    http: KeptAlive  # the account's, built with its timeout

    async def book(self, parcel: Parcel, idempotency_key: str) -> str:
        return (await self.book_with_label(parcel, idempotency_key)).tracking_number

    async def book_with_label(self, parcel: Parcel, idempotency_key: str) -> Booked:
        a = self.account
        address = parcel.address or {}
        param: dict[str, Any] = {
            "printType": "IMAGE" if a.template_id else "NON",
            "kuaidicom": self.company,
            "orderId": idempotency_key,
            "reorder": False,
            **dict(a.accounts.get(self.company, {})),
            "recMan": {
                "name": address.get("recipient") or "",
                "mobile": mobile(address.get("phone")),
                "printAddr": print_address(address),
            },
            "sendMan": dict(a.sender),
            "cargo": "goods",
            "count": max(1, parcel.items),
            "payType": "MONTHLY",
        }
        if a.template_id:
            param["tempId"] = a.template_id
        text = wire.param_text(param)
        t = str(int(time.time() * 1000))
        form = {"method": "order", "key": a.key, "t": t, "param": text,
                "sign": wire.order_sign(text, t, a.key, a.secret)}  # fmt: skip
        answer = await self._post(a.url(ORDER_URL), form, "booking")
        code = _number(answer.get("code"))
        data = answer.get("data") or {}
        if code == 200 and answer.get("success", True) and data.get("kuaidinum"):
            return Booked(str(data["kuaidinum"]), data.get("label") or None)
        reason = f"kuaidi100_order_{code}: {answer.get('message', '')}".strip()
        raise BookingError(reason, permanent=code not in _ORDER_RETRIED)

    async def subscribe(
        self, tracking_number: str, phone: str | None, to: str | None, company: str | None = None
    ) -> str:
        """Asks Kuaidi100 to push the parcel's tracking (under `company` when Kuaidi100
        corrected the courier's code); its returnCode (200, or 501 when it follows the
        parcel already). Raises BookingError otherwise."""
        a = self.account
        parameters = {"callbackurl": f"{a.callback_url}?courier={self.name}",
                      "salt": a.salt, "resultv2": RESULTV2}  # fmt: skip
        if phone:
            parameters["phone"] = phone
        param: dict[str, Any] = {"company": company or self.company, "number": tracking_number,
                                 "key": a.key, "parameters": parameters}  # fmt: skip
        if to:
            param["to"] = to
        form = {"schema": "json", "param": wire.param_text(param)}
        answer = await self._post(a.url(SUBSCRIBE_URL), form, "subscription")
        code = str(answer.get("returnCode", ""))
        if code in _SUBSCRIBED:
            return code
        reason = f"kuaidi100_subscribe_{code}: {answer.get('message', '')}".strip()
        raise BookingError(reason, permanent=code not in _SUBSCRIBE_RETRIED)

    async def query(
        self, tracking_number: str, phone: str | None, company: str | None = None
    ) -> dict[str, Any] | None:
        """The parcel's tracking now (the same shape as a push's `lastResult`), or None
        while Kuaidi100 has nothing for it."""
        a = self.account
        param = {"com": company or self.company, "num": tracking_number, "resultv2": RESULTV2,
                 "show": "0", "order": "desc"}  # fmt: skip
        if phone:
            param["phone"] = phone
        text = wire.param_text(param)
        form = {"customer": a.customer, "param": text,
                "sign": wire.query_sign(text, a.key, a.customer)}  # fmt: skip
        answer = await self._post(a.url(QUERY_URL), form, "query")
        if answer.get("result") is False or "data" not in answer:
            return None
        return answer

    async def _post(self, url: str, form: dict[str, str], what: str) -> dict[str, Any]:
        try:
            response = await self.http.request("POST", url, data=form)
        except Unreachable as exc:
            if exc.timed_out:
                raise BookingError(f"kuaidi100_{what}_timeout") from exc
            raise BookingError(f"kuaidi100_{what}_unreachable: {exc.kind}") from exc
        if response.status == 429 or response.status >= 500:
            wait = retry_after(response.header("Retry-After"))
            raise BookingError(f"kuaidi100_{what}_http_{response.status}", retry_after=wait)
        try:
            answer = response.json()
        except ValueError as exc:
            raise BookingError(f"kuaidi100_{what}_unreadable_answer") from exc
        if not isinstance(answer, dict):
            raise BookingError(f"kuaidi100_{what}_unreadable_answer")
        return answer


def mobile(phone: object) -> str:
    """A phone as Kuaidi100 takes it: a Chinese mobile without +86, others as given."""
    text = str(phone or "").replace(" ", "")
    return text[3:] if text.startswith("+86") else text


def destination(address: Mapping[str, Any]) -> str:
    """The recipient's region and city (the subscription's `to`, which helps Kuaidi100
    judge delivery)."""
    return "".join(str(address[k]) for k in ("region", "city") if address.get(k))


def print_address(address: Mapping[str, Any]) -> str:
    """The recipient's full address on one line, region first, as Chinese labels read
    (written together in Chinese, spaced otherwise)."""
    parts = [str(address[k]) for k in ("region", "city", "line1", "line2") if address.get(k)]
    chinese = any("\u4e00" <= ch <= "\u9fff" for part in parts for ch in part)
    return ("" if chinese else " ").join(parts)


def _number(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


# Kuaidi100's states (`state`, and each checkpoint's `statusCode` with resultv2=4): 0 in
# transit (1001 arrived in the delivery city, 1002 trunk line, 1003 forwarded), 1 picked up
# (101-103), 2 trouble (failed attempt, 201-211), 3 signed for (301-304), 4 returned and
# signed for by the sender (退签; 401 已销单 is the waybill cancelled, not a parcel back), 5
# out for delivery (501 into a locker or station), 6 on its way back to the sender (退回), 7
# handed to another courier, 8 and 10-13 customs, 14 refused by the recipient (拒签).
_BY_CODE = {
    "1001": CheckpointStatus.ARRIVED_IN_CITY,
    "3": CheckpointStatus.DELIVERED,
    "5": CheckpointStatus.OUT_FOR_DELIVERY,
    "2": CheckpointStatus.FAILED_ATTEMPT,
    "4": CheckpointStatus.RETURNED_TO_SHOP,
    "401": CheckpointStatus.EXCEPTION,  # cancelled: nothing comes back because of it
    "6": CheckpointStatus.RETURNED,
    "14": CheckpointStatus.REFUSED,
    "13": CheckpointStatus.EXCEPTION,
}
_BY_NAME = {
    "签收": "3", "派件": "5", "疑难": "2", "退签": "4", "已销单": "401", "退回": "6",
    "拒签": "14", "到达派件城市": "1001", "投柜或驿站": "501", "清关异常": "13",
}  # fmt: skip


def checkpoint_status(code: str | None, name: str | None = None) -> CheckpointStatus:
    """Our checkpoint status for a Kuaidi100 state code (or, without one, its name)."""
    code = (code or "").strip() or _BY_NAME.get((name or "").strip(), "")
    if code in _BY_CODE:
        return _BY_CODE[code]
    if len(code) == 3 and code[0] in "235":  # the sub-states of 2, 3 and 5
        return _BY_CODE[code[0]]
    if len(code) == 3 and code[0] == "4":  # of 4 only 401 is known: no parcel back unheard of
        return CheckpointStatus.EXCEPTION
    return CheckpointStatus.IN_TRANSIT


def china_time(text: str) -> datetime:
    """`ftime`/`time` ("2026-12-02 14:19:08", China time) as an aware datetime."""
    return datetime.strptime(text.strip()[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)


def checkpoints(result: Mapping[str, Any]) -> list[Checkpoint]:
    """A tracking result (a push's `lastResult`, a query's answer) as our checkpoints, oldest
    first. Each is identified by the parcel, its time and its text, so the same step pushed
    again, or read again by a query, is the same checkpoint."""
    number = str(result.get("nu", ""))
    rows = [r for r in result.get("data") or [] if isinstance(r, dict) and r.get("ftime")]
    rows.sort(key=lambda r: str(r["ftime"]))
    newest_state = str(result.get("state", ""))
    found = []
    for i, row in enumerate(rows):
        code = row.get("statusCode") or (newest_state if i == len(rows) - 1 else None)
        context = str(row.get("context", ""))
        try:
            at = china_time(str(row["ftime"]))
        except ValueError:  # a tolerant reader: a step without a readable time is skipped
            continue
        identity = wire.md5_upper(f"{row['ftime']}|{context}")[:16]
        found.append(
            Checkpoint(
                checkpoint_id=f"{number}-{identity}",
                checkpoint_at=at,
                city=_city(row),
                status=checkpoint_status(str(code) if code else None, row.get("status")),
                description=context[:500],
            )
        )
    return found


def _city(row: Mapping[str, Any]) -> str:
    """The checkpoint's city: its area's second level ("广东,深圳市,南山区" -> "深圳市"), or
    the one level given ("北京市")."""
    area = str(row.get("areaName") or row.get("location") or "")
    names = [n.strip() for n in area.replace("\uff0c", ",").split(",") if n.strip()]
    return (names[1] if len(names) > 1 else names[0] if names else "")[:100]
