"""Alibaba Cloud SMS (dysmsapi, API version 2017-05-25), RPC style.

`SendSms` takes the number, the approved sign name (SignName), the approved template
(TemplateCode) and its variables (TemplateParam, JSON), and our message id as OutId. Each
request is signed (signature version 1.0): HMAC-SHA1, keyed with the AccessKeySecret and
"&", over "POST&%2F&" and the percent-encoded, sorted, canonical parameters.

Aliyun has no idempotency key, but it keeps our OutId with every message: an attempt that
follows one whose answer was lost first asks `QuerySendDetails` for that day's messages to
the number, and sends only if none carries our id. Delivery receipts (SmsReport, pushed as
a JSON array) are read in webhooks.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from services.notify.channels import ChannelError, Delivery
from services.notify.settings import AliyunTemplate, NotifySettings
from services.notify.sms._http import transient_status, unreachable
from shared.http_client import KeptAlive, Send, Unreachable

VERSION = "2017-05-25"
CHINA = ZoneInfo("Asia/Shanghai")  # Aliyun's SendDate is a day in China
# Error codes worth another try later: rate limits (per number and minute/hour/day) and
# Aliyun's own faults. Any other code (an illegal number, a template or sign name not
# approved, missing variables, bad credentials) refuses the message for good.
TRANSIENT_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "Throttling.User",
        "isp.SYSTEM_ERROR",
        "isp.GATEWAY_ERROR",
        "ServiceUnavailable",
        "InternalError",
    }
)
_LIMIT_BACKOFF = 60.0  # BUSINESS_LIMIT_CONTROL counts per minute at the finest


def percent(value: str) -> str:
    """RFC 3986 percent-encoding, as Aliyun's signature wants it (space %20, ~ kept)."""
    return quote(value, safe="-_.~")


def canonical(params: dict[str, str]) -> str:
    return "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(params.items()))


def signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    base = f"{method}&{percent('/')}&{percent(canonical(params))}"
    digest = hmac.new(f"{secret}&".encode(), base.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def phone_number(e164: str) -> str:
    """Aliyun's form: a mainland number without +86, any other with its country code."""
    return e164.removeprefix("+86") if e164.startswith("+86") else e164.lstrip("+")


class AliyunSms:
    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        templates: dict[str, AliyunTemplate],
        shop_name: str,
        endpoint: str = "https://dysmsapi.aliyuncs.com/",
        region: str = "cn-hangzhou",
        timeout: float = 10.0,
        concurrency: int = 20,
        send: Send | None = None,
    ) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.templates = templates
        self.shop_name = shop_name
        self.endpoint = endpoint
        self.region = region
        self.http = KeptAlive(timeout=timeout, concurrency=concurrency, send=send)

    @classmethod
    def from_settings(cls, s: NotifySettings) -> AliyunSms:
        secret = s.sms_aliyun_access_key_secret
        return cls(
            access_key_id=s.sms_aliyun_access_key_id or "",
            access_key_secret=secret.get_secret_value() if secret else "",
            sign_name=s.sms_aliyun_sign_name or "",
            templates=s.sms_aliyun_templates,
            shop_name=s.shop_name,
            endpoint=s.sms_aliyun_endpoint,
            region=s.sms_aliyun_region,
            timeout=s.sms_timeout_seconds,
            concurrency=s.sender_batch_size,
        )

    def template_params(self, template: AliyunTemplate, delivery: Delivery) -> dict[str, str]:
        values = {
            "order_id": delivery.order_id or "",
            "order_ref": (delivery.order_id or "")[-8:],
            "text": delivery.text,
            "shop_name": self.shop_name,
        }
        return {variable: values[source] for variable, source in template.params.items()}

    async def send(self, delivery: Delivery) -> None:
        template = self.templates.get(delivery.template or "")
        if template is None:
            raise ChannelError(
                f"no approved Aliyun template for {delivery.template}", permanent=True
            )
        if delivery.attempt > 1 and await self.already_sent(delivery):
            return
        params = self.template_params(template, delivery)
        answer = await self.call(
            "SendSms",
            PhoneNumbers=phone_number(delivery.recipient),
            SignName=self.sign_name,
            TemplateCode=template.code,
            TemplateParam=json.dumps(params, ensure_ascii=False, separators=(",", ":")),
            OutId=delivery.message_id,
        )
        code = answer.get("Code")
        if code != "OK":
            raise refusal(code, answer.get("Message"))

    async def already_sent(self, delivery: Delivery) -> bool:
        """Whether Aliyun holds a message with our id to this number, sent today."""
        answer = await self.call(
            "QuerySendDetails",
            PhoneNumber=phone_number(delivery.recipient),
            SendDate=datetime.now(CHINA).strftime("%Y%m%d"),
            PageSize="50",
            CurrentPage="1",
        )
        if answer.get("Code") != "OK":
            raise refusal(answer.get("Code"), answer.get("Message"), looking=True)
        found = (answer.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
        return any(d.get("OutId") == delivery.message_id for d in found)

    def signed(self, action: str, business: dict[str, str]) -> dict[str, str]:
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": action,
            "Format": "JSON",
            "RegionId": self.region,
            "SignatureMethod": "HMAC-SHA1",
            # a nonce only stops replays of this very request; the retry's key is OutId
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": VERSION,
            **business,
        }
        params["Signature"] = signature(params, self.access_key_secret)
        return params

    async def call(self, action: str, **business: str) -> dict[str, Any]:
        try:
            response = await self.http.request(
                "POST", self.endpoint, data=self.signed(action, business)
            )
        except Unreachable as exc:
            raise unreachable("Aliyun SMS", exc) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ChannelError(
                f"Aliyun SMS {response.status}: {response.text[:200]}",
                permanent=not transient_status(response.status),
            )
        if transient_status(response.status) and answer.get("Code") != "OK":
            raise ChannelError(
                f"Aliyun SMS {response.status}: {answer.get('Code')}", permanent=False
            )
        return answer

    async def aclose(self) -> None:
        await self.http.aclose()


def refusal(code: object, message: object, *, looking: bool = False) -> ChannelError:
    transient = code in TRANSIENT_CODES or looking  # a failed lookup sends nothing yet
    return ChannelError(
        f"Aliyun SMS {code}: {message}",
        permanent=not transient,
        retry_after=_LIMIT_BACKOFF if code == "isv.BUSINESS_LIMIT_CONTROL" else None,
    )
