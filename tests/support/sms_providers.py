"""Stand-ins for the SMS providers notify uses, speaking their documented wire formats,
with credentials made in the test.

- Alibaba Cloud SMS (dysmsapi 2017-05-25, RPC style): `POST /` with a signed form.
  The stub checks the common parameters and the signature version 1.0 (HMAC-SHA1 of
  "POST&%2F&" + the percent-encoded sorted parameters, keyed with AccessKeySecret + "&"),
  refuses a reused SignatureNonce, an unapproved sign name or template, or template
  variables other than the template's; answers `SendSms` with `{"Code": "OK", "BizId"...}`
  and `QuerySendDetails` with `SmsSendDetailDTOs`; pushes SmsReport receipts (a JSON array).
- Twilio: `POST /2010-04-01/Accounts/{Sid}/Messages.json`, HTTP basic auth (Account SID,
  auth token), a form; 201 with the message resource, or `{code, message, more_info,
  status}`; `GET` of the same lists messages, newest first; status callbacks are posted to
  the message's StatusCallback, signed (`X-Twilio-Signature`) with the auth token.

Both also push customers' replies (Aliyun's SmsUp array, Twilio's incoming message).

Faults are scripted per provider, one per request: a 500, a 429 with `Retry-After`, a
timeout (no answer, nothing sent) or a lost answer (sent, then no answer); lookups
(QuerySendDetails, listing messages) are never faulted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from aiohttp import web

from deploy.local.ports import free_ports

LOOPBACK = "127.0.0.1"
CHINA = ZoneInfo("Asia/Shanghai")
_VARIABLE = re.compile(r"\$\{(\w+)\}")


@dataclass
class Fault:
    kind: str  # "500" | "429" | "timeout" | "lost"
    retry_after: int | None = None


@dataclass
class Attempt:
    """One request the stub answered (or chose not to), in order of arrival."""

    provider: str
    action: str
    at: float
    fault: str | None


# ---------------------------------------------------------------------------- Aliyun


def _percent(value: str) -> str:
    return quote(value, safe="-_.~")


def aliyun_signature(params: dict[str, str], secret: str) -> str:
    """The RPC signature, written from Aliyun's documentation (not from our adapter)."""
    query = "&".join(f"{_percent(k)}={_percent(params[k])}" for k in sorted(params))
    string_to_sign = "POST&" + _percent("/") + "&" + _percent(query)
    mac = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


@dataclass
class AliyunAccount:
    access_key_id: str = field(default_factory=lambda: "LTAI" + secrets.token_hex(8))
    access_key_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    sign_name: str = "富饶商城"
    # approved templates: TemplateCode -> its content with ${variables}
    templates: dict[str, str] = field(
        default_factory=lambda: {"SMS_470001": "您的订单${order}已确认, 感谢惠顾."}
    )


@dataclass
class AliyunMessage:
    phone: str
    sign_name: str
    template_code: str
    params: dict[str, str]
    out_id: str | None
    biz_id: str
    sent_at: datetime


def _aliyun_error(code: str, message: str, status: int = 400) -> web.Response:
    body = {"Code": code, "Message": message, "RequestId": str(uuid.uuid4()).upper()}
    return web.json_response(body, status=status)


# ---------------------------------------------------------------------------- Twilio


def twilio_signature(url: str, params: dict[str, str], auth_token: str) -> str:
    """Twilio's request signature: the full URL, then each POST parameter's name and
    value sorted by name, HMAC-SHA1 with the auth token, base64."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(
        hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    ).decode()


@dataclass
class TwilioAccount:
    account_sid: str = field(default_factory=lambda: "AC" + secrets.token_hex(16))
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    number: str = "+15005550006"


@dataclass
class TwilioMessage:
    sid: str
    to: str
    sender: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    created: datetime
    status: str = "queued"

    def resource(self, account_sid: str) -> dict[str, Any]:
        date = format_datetime(self.created, usegmt=True)
        return {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": self.body,
            "date_created": date,
            "date_sent": None,
            "date_updated": date,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": self.sender,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "to": self.to,
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{self.sid}.json",
        }


def _twilio_error(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


# ---------------------------------------------------------------------------- the server


class SmsProviders:
    """Both stubs on one local HTTP server; `start`, point notify at `aliyun_url` and
    `twilio_url`, script `faults`, then `stop`."""

    def __init__(self, *, hang_seconds: float = 5.0) -> None:
        [self.port] = free_ports(1)
        self.aliyun = AliyunAccount()
        self.twilio = TwilioAccount()
        self.aliyun_sent: list[AliyunMessage] = []
        self.twilio_sent: list[TwilioMessage] = []
        self.attempts: list[Attempt] = []
        self.faults: dict[str, list[Fault]] = {"aliyun": [], "twilio": []}
        self.refusals: list[str] = []  # why a request was refused (a bad signature ...)
        self.hang_seconds = hang_seconds  # longer than the client waits
        self._nonces: set[str] = set()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def aliyun_url(self) -> str:
        return f"{self.url}/"

    @property
    def twilio_url(self) -> str:
        return self.url

    def fail_next(self, provider: str, *faults: Fault) -> None:
        self.faults[provider].extend(faults)

    async def start(self) -> SmsProviders:
        app = web.Application()
        app.router.add_post("/", self._aliyun)
        path = "/2010-04-01/Accounts/{sid}/Messages.json"
        app.router.add_post(path, self._twilio_create)
        app.router.add_get(path, self._twilio_list)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _fault(self, provider: str, action: str) -> Fault | None:
        """The next scripted fault, for a send (lookups are answered as they come)."""
        sending = action in ("SendSms", "create")
        fault = self.faults[provider].pop(0) if sending and self.faults[provider] else None
        self.attempts.append(Attempt(provider, action, time.monotonic(), fault and fault.kind))
        return fault

    async def _answer_fault(self, fault: Fault, provider: str) -> web.Response | None:
        """The scripted answer before the request is handled; None to handle it."""
        if fault.kind == "500":
            if provider == "aliyun":
                return _aliyun_error("ServiceUnavailable", "The service is unavailable.", 503)
            return _twilio_error(500, 20500, "Internal Server Error")
        if fault.kind == "429":
            response = _twilio_error(429, 20429, "Too Many Requests")
            response.headers["Retry-After"] = str(fault.retry_after or 1)
            return response
        if fault.kind == "timeout":
            await asyncio.sleep(self.hang_seconds)  # the client has given up by now
            return _aliyun_error("ServiceUnavailable", "late", 503)
        return None

    # ------------------------------------------------------------------ Aliyun
    def _check_aliyun(self, form: dict[str, str]) -> web.Response | None:
        required = (
            "AccessKeyId", "Action", "Format", "SignatureMethod", "SignatureNonce",
            "SignatureVersion", "Timestamp", "Version", "Signature",
        )  # fmt: skip
        missing = [name for name in required if not form.get(name)]
        if missing:
            return _aliyun_error("MissingParameter", f"{missing[0]} is mandatory")
        if form["AccessKeyId"] != self.aliyun.access_key_id:
            return _aliyun_error(
                "InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404
            )
        if (form["SignatureMethod"], form["SignatureVersion"]) != ("HMAC-SHA1", "1.0"):
            return _aliyun_error("InvalidSignatureMethod", "unsupported signature method")
        if form["Version"] != "2017-05-25" or form["Format"] != "JSON":
            return _aliyun_error("InvalidVersion", "Specified parameter Version is not valid.")
        try:
            stamp = datetime.strptime(form["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return _aliyun_error("InvalidTimeStamp.Format", "Specified time stamp is not valid.")
        if abs(datetime.now(UTC) - stamp) > timedelta(minutes=15):
            return _aliyun_error("InvalidTimeStamp.Expired", "Specified time stamp is expired.")
        unsigned = {k: v for k, v in form.items() if k != "Signature"}
        if not hmac.compare_digest(
            aliyun_signature(unsigned, self.aliyun.access_key_secret), form["Signature"]
        ):
            self.refusals.append("aliyun signature")
            return _aliyun_error("SignatureDoesNotMatch", "Specified signature is not matched.")
        if form["SignatureNonce"] in self._nonces:
            return _aliyun_error(
                "SignatureNonceUsed", "Specified signature nonce was used already."
            )
        self._nonces.add(form["SignatureNonce"])
        return None

    async def _aliyun(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        action = form.get("Action", "")
        fault = self._fault("aliyun", action)
        if fault is not None and (answer := await self._answer_fault(fault, "aliyun")):
            return answer
        refused = self._check_aliyun(form)
        if refused is not None:
            return refused
        if action == "QuerySendDetails":
            return self._aliyun_details(form)
        if action != "SendSms":
            return _aliyun_error("InvalidAction.NotFound", f"{action} is not an action")
        if form.get("SignName") != self.aliyun.sign_name:
            return web.json_response({"Code": "isv.SMS_SIGNATURE_ILLEGAL", "Message": "签名不合法"})
        template = self.aliyun.templates.get(form.get("TemplateCode", ""))
        if template is None:
            return web.json_response({"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "模板不合法"})
        params = json.loads(form.get("TemplateParam") or "{}")
        if set(params) != set(_VARIABLE.findall(template)):
            return web.json_response(
                {"Code": "isv.TEMPLATE_MISSING_PARAMETERS", "Message": "模板变量缺少对应参数值"}
            )
        phone = form.get("PhoneNumbers", "")
        if not re.fullmatch(r"1\d{10}|\d{8,15}", phone):
            return web.json_response({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"})
        biz_id = f"{secrets.randbelow(10**15):015d}^0"
        sent = AliyunMessage(
            phone, form["SignName"], form["TemplateCode"], params, form.get("OutId"), biz_id,
            datetime.now(CHINA),
        )  # fmt: skip
        self.aliyun_sent.append(sent)
        if fault is not None and fault.kind == "lost":
            await asyncio.sleep(self.hang_seconds)
        return web.json_response(
            {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": str(uuid.uuid4()).upper()}
        )

    def _aliyun_details(self, form: dict[str, str]) -> web.Response:
        day = form.get("SendDate", "")
        found = [
            m
            for m in self.aliyun_sent
            if m.phone == form.get("PhoneNumber") and m.sent_at.strftime("%Y%m%d") == day
        ]
        dtos = [
            {
                "PhoneNum": m.phone,
                "SendStatus": 3,
                "ErrCode": "DELIVERED",
                "TemplateCode": m.template_code,
                "Content": f"【{m.sign_name}】{self.aliyun.templates[m.template_code]}",
                "SendDate": m.sent_at.strftime("%Y-%m-%d %H:%M:%S"),
                "ReceiveDate": m.sent_at.strftime("%Y-%m-%d %H:%M:%S"),
                "OutId": m.out_id,
            }
            for m in found
        ]
        return web.json_response(
            {
                "Code": "OK",
                "Message": "OK",
                "RequestId": str(uuid.uuid4()).upper(),
                "TotalCount": len(dtos),
                "SmsSendDetailDTOs": {"SmsSendDetailDTO": dtos},
            }
        )

    async def aliyun_report(
        self, receipt_url: str, message: AliyunMessage, *, success: bool, err_code: str
    ) -> httpx.Response:
        """Pushes an SmsReport for `message` to our receipt URL, as Aliyun does."""
        now = datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        report = {
            "phone_number": message.phone,
            "send_time": message.sent_at.strftime("%Y-%m-%d %H:%M:%S"),
            "report_time": now,
            "success": success,
            "err_code": err_code,
            "err_msg": "用户接收成功" if success else "失败",
            "sms_size": "1",
            "biz_id": message.biz_id,
            "out_id": message.out_id,
        }
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(receipt_url, json=[report])

    # ------------------------------------------------------------------ Twilio
    def _twilio_auth(self, request: web.Request) -> web.Response | None:
        if request.match_info["sid"] != self.twilio.account_sid:
            return _twilio_error(404, 20404, "The requested resource was not found")
        expected = (
            "Basic "
            + base64.b64encode(
                f"{self.twilio.account_sid}:{self.twilio.auth_token}".encode()
            ).decode()
        )
        if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
            self.refusals.append("twilio auth")
            return _twilio_error(401, 20003, "Authenticate")
        return None

    async def _twilio_create(self, request: web.Request) -> web.Response:
        fault = self._fault("twilio", "create")
        if fault is not None and (answer := await self._answer_fault(fault, "twilio")):
            return answer
        if (refused := self._twilio_auth(request)) is not None:
            return refused
        form = {k: str(v) for k, v in (await request.post()).items()}
        if not form.get("To"):
            return _twilio_error(400, 21604, "A 'To' phone number is required.")
        if not form.get("Body"):
            return _twilio_error(400, 21602, "Message body is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _twilio_error(400, 21603, "A 'From' phone number is required.")
        if not re.fullmatch(r"\+[1-9]\d{6,14}", form["To"]):
            return _twilio_error(400, 21211, f"The 'To' number {form['To']} is not valid.")
        message = TwilioMessage(
            "SM" + secrets.token_hex(16), form["To"], form.get("From"),
            form.get("MessagingServiceSid"), form["Body"], form.get("StatusCallback"),
            datetime.now(UTC),
        )  # fmt: skip
        self.twilio_sent.append(message)
        if fault is not None and fault.kind == "lost":
            await asyncio.sleep(self.hang_seconds)
        return web.json_response(message.resource(self.twilio.account_sid), status=201)

    async def _twilio_list(self, request: web.Request) -> web.Response:
        self._fault("twilio", "list")
        if (refused := self._twilio_auth(request)) is not None:
            return refused
        to, sender = request.query.get("To"), request.query.get("From")
        size = int(request.query.get("PageSize", "50"))
        found = [
            m
            for m in reversed(self.twilio_sent)
            if (to is None or m.to == to) and (sender is None or m.sender == sender)
        ][:size]
        sid = self.twilio.account_sid
        page = f"/2010-04-01/Accounts/{sid}/Messages.json?PageSize={size}&Page=0"
        return web.json_response(
            {
                "messages": [m.resource(sid) for m in found],
                "page": 0,
                "page_size": size,
                "first_page_uri": page,
                "next_page_uri": None,
                "previous_page_uri": None,
                "uri": page,
                "start": 0,
                "end": max(len(found) - 1, 0),
            }
        )

    async def twilio_status(
        self,
        message: TwilioMessage,
        status: str,
        *,
        error_code: str | None = None,
        auth_token: str | None = None,
    ) -> httpx.Response:
        """Posts a status callback for `message` to its StatusCallback, signed as Twilio
        signs it (with `auth_token`, another token for a forged one)."""
        assert message.status_callback, "the message was sent without a StatusCallback"
        message.status = status
        form = {
            "AccountSid": self.twilio.account_sid,
            "ApiVersion": "2010-04-01",
            "From": message.sender or "",
            "MessageSid": message.sid,
            "MessageStatus": status,
            "SmsSid": message.sid,
            "SmsStatus": status,
            "To": message.to,
        }
        if error_code is not None:
            form["ErrorCode"] = error_code
        token = auth_token or self.twilio.auth_token
        signature = twilio_signature(message.status_callback, form, token)
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(
                message.status_callback, data=form, headers={"X-Twilio-Signature": signature}
            )

    # ------------------------------------------------------------------ replies
    async def aliyun_reply(self, url: str, phone: str, content: str) -> httpx.Response:
        """Pushes an SmsUp (a customer's reply) to `url`, as Aliyun does; a mainland
        number comes without +86."""
        reply = {
            "phone_number": phone.removeprefix("+86"),
            "send_time": datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
            "content": content,
            "sign_name": self.aliyun.sign_name,
            "dest_code": "1234",
            "sequence_id": secrets.randbelow(10**10),
        }
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, json=[reply])

    async def twilio_reply(
        self, url: str, sender: str, body: str, *, auth_token: str | None = None
    ) -> httpx.Response:
        """Posts an incoming message to `url` (the number's messaging webhook), signed."""
        sid = "SM" + secrets.token_hex(16)
        form = {
            "AccountSid": self.twilio.account_sid,
            "ApiVersion": "2010-04-01",
            "Body": body,
            "From": sender,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": self.twilio.number,
        }
        signature = twilio_signature(url, form, auth_token or self.twilio.auth_token)
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, data=form, headers={"X-Twilio-Signature": signature})
