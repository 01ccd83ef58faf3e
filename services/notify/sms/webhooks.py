"""Delivery receipts from the SMS providers, into the message's delivery status.

- `POST /v1/webhooks/sms/aliyun?token=...`: Aliyun's SmsReport HTTP batch push, a JSON
  array of reports (phone_number, success, err_code, err_msg, biz_id, out_id, report_time
  ...); Aliyun signs nothing, so the push URL configured in its console carries a shared
  token (NOTIFY_SMS_ALIYUN_RECEIPT_TOKEN). Answered `{"code": 0, "msg": ...}` as it wants.
- `POST /v1/webhooks/sms/twilio?message_id=...`: Twilio's status callback, a form
  (MessageSid, MessageStatus, ErrorCode ...), verified by `X-Twilio-Signature`.
Customers' replies come on the routes next door (replies.py).

A wrong token or signature is a 401; a receipt for a message we do not know is
acknowledged and ignored (the provider would otherwise push it again and again).
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from services.notify.deps import Deps
from services.notify.sms import receipts, twilio
from services.notify.sms.receipts import DeliveryStatus, Receipt
from shared.http import ApiError, service_of
from shared.logging import get_logger
from shared.openapi import errors
from shared.problems import Unauthorized

log = get_logger(__name__)
router = APIRouter(prefix="/v1/webhooks/sms", tags=["notify"])
CHINA = ZoneInfo("Asia/Shanghai")  # Aliyun's report_time is China time, without a zone
# Twilio's MessageStatus, as far as delivery goes; the others (accepted, scheduled,
# queued, sending, read, canceled ...) are interim or not ours to record.
TWILIO_STATUSES: dict[str, DeliveryStatus] = {
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
}


class AliyunReport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    phone_number: str | None = None
    success: bool
    err_code: str | None = Field(default=None, max_length=100)
    err_msg: str | None = None
    biz_id: str | None = Field(default=None, max_length=100)
    out_id: str | None = Field(default=None, max_length=200)
    report_time: str | None = None


REPORTS = TypeAdapter(list[AliyunReport])


def _reported_at(value: str | None) -> datetime:
    try:
        return datetime.strptime(value or "", "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    except ValueError:
        return datetime.now(UTC)


@router.post("/aliyun", responses=errors(400, 401, s401="the push URL's token is wrong"))
async def aliyun_reports(
    request: Request, token: Annotated[str, Query(max_length=200)] = ""
) -> dict[str, Any]:
    """Aliyun's delivery reports (SmsReport), each for the message its out_id names."""
    service = service_of(request, Deps)
    expected = service.deps.settings.sms_aliyun_receipt_token
    if expected is None or not hmac.compare_digest(token, expected.get_secret_value()):
        raise Unauthorized("bad_token", "the receipt push URL's token is wrong")
    try:
        reports = REPORTS.validate_json(await request.body())
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "body"
        raise ApiError(
            "invalid_report",
            "not a list of SmsReport",
            fields=[{"field": field, "message": "invalid"}],
        ) from exc
    found = [
        Receipt(
            message_id=r.out_id,
            provider="aliyun",
            status="delivered" if r.success else "failed",
            provider_message_id=r.biz_id,
            error=None if r.success else f"{r.err_code}: {r.err_msg or ''}".strip(": "),
            reported_at=_reported_at(r.report_time),
        )
        for r in reports
        if r.out_id
    ]
    async with service.db.acquire() as conn:
        changed = await receipts.apply(conn, found)
    log.info("sms receipts", provider="aliyun", reports=len(reports), changed=changed)
    return {"code": 0, "msg": "接收成功"}


def aliyun_token_ok(request: Request, token: str) -> bool:
    """Whether `token` is the one in the push URLs configured in Aliyun's console."""
    expected = service_of(request, Deps).deps.settings.sms_aliyun_receipt_token
    return expected is not None and hmac.compare_digest(token, expected.get_secret_value())


async def twilio_form(request: Request) -> dict[str, str]:
    """The form Twilio posted, once its `X-Twilio-Signature` is verified; 401 otherwise."""
    token = service_of(request, Deps).deps.settings.sms_twilio_auth_token
    # a urlencoded form, as Twilio posts it (a repeated name keeps its last value)
    raw = (await request.body()).decode("utf-8", "replace")
    form = dict(parse_qsl(raw, keep_blank_values=True))
    given = request.headers.get("X-Twilio-Signature")
    if token is None or not twilio.verify(
        _public_url(request), form, token.get_secret_value(), given
    ):
        raise Unauthorized("bad_signature", "X-Twilio-Signature is missing or wrong")
    return form


def _public_url(request: Request) -> str:
    """The URL Twilio called, as it signed it: our public base URL, path and query."""
    base = service_of(request, Deps).deps.settings.base_url.rstrip("/")
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base}{request.url.path}{query}"


@router.post(
    "/twilio",
    status_code=204,
    responses=errors(401, s401="X-Twilio-Signature is missing or wrong"),
)
async def twilio_status(
    request: Request, message_id: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    """Twilio's status callback for the message `message_id` (in the URL we gave it)."""
    service = service_of(request, Deps)
    form = await twilio_form(request)
    status = TWILIO_STATUSES.get(form.get("MessageStatus", ""))
    if status is not None and message_id:
        code = form.get("ErrorCode")
        receipt = Receipt(
            message_id=message_id,
            provider="twilio",
            status=status,
            provider_message_id=form.get("MessageSid"),
            error=(f"Twilio error {code}" if code else form["MessageStatus"])
            if status == "failed"
            else None,
            reported_at=datetime.now(UTC),
        )
        async with service.db.acquire() as conn:
            await receipts.apply(conn, [receipt])
    return Response(status_code=204)
