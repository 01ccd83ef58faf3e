"""Customers' replies by SMS through the providers: an opt-out keyword ("TD", "退订",
"STOP" ...) opts the phone it came from out of non-essential messages, as the
development gateway's `/v1/sms/inbound` does.

- `POST /v1/webhooks/sms/aliyun/replies?token=...`: Aliyun's SmsUp HTTP batch push, a
  JSON array (phone_number, content, send_time, dest_code, sequence_id), authenticated
  by the same URL token as the receipts; answered `{"code": 0, "msg": ...}`.
- `POST /v1/webhooks/sms/twilio/replies`: Twilio's incoming-message webhook (a form with
  From, To, Body, MessageSid ...), verified by `X-Twilio-Signature`; answered with an
  empty TwiML `<Response/>` (no reply is sent back).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from services.notify import optout, steps
from services.notify.deps import Deps
from services.notify.sms.webhooks import aliyun_token_ok, twilio_form
from shared.http import ApiError, service_of
from shared.openapi import errors
from shared.problems import Unauthorized

router = APIRouter(prefix="/v1/webhooks/sms", tags=["notify"])
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class AliyunReply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    phone_number: str = Field(min_length=3, max_length=32)
    content: str = Field(max_length=1000)


REPLIES = TypeAdapter(list[AliyunReply])


async def _opt_out(request: Request, phones: list[str]) -> None:
    if not phones:
        return
    service = service_of(request, Deps)
    async with service.unit(correlation_id=request.headers.get("X-Correlation-ID")) as unit:
        for phone in phones:
            await steps.opt_out(unit, "sms", phone, "sms_keyword")


@router.post("/aliyun/replies", responses=errors(400, 401, s401="the push URL's token is wrong"))
async def aliyun_replies(
    request: Request, token: Annotated[str, Query(max_length=200)] = ""
) -> dict[str, Any]:
    """Replies to our SMS in China (SmsUp); the opt-outs among them take effect."""
    if not aliyun_token_ok(request, token):
        raise Unauthorized("bad_token", "the push URL's token is wrong")
    try:
        replies = REPLIES.validate_json(await request.body())
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "body"
        raise ApiError(
            "invalid_reply",
            "not a list of SmsUp messages",
            fields=[{"field": field, "message": exc.errors()[0]["msg"]}],
        ) from exc
    # a mainland number comes without +86: normalised_contact reads it as one
    await _opt_out(
        request, [r.phone_number for r in replies if optout.is_opt_out_keyword(r.content)]
    )
    return {"code": 0, "msg": "接收成功"}


@router.post(
    "/twilio/replies",
    response_class=Response,
    responses={
        200: {"content": {"text/xml": {}}, "description": "empty TwiML: no reply"},
        **errors(401, s401="X-Twilio-Signature is missing or wrong"),
    },
)
async def twilio_replies(request: Request) -> Response:
    """A reply to our SMS elsewhere (Twilio's incoming message); an opt-out takes effect."""
    form = await twilio_form(request)
    if optout.is_opt_out_keyword(form.get("Body", "")) and form.get("From"):
        await _opt_out(request, [form["From"]])
    return Response(EMPTY_TWIML, media_type="text/xml")
