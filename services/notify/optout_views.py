"""HTTP routes for opting out by contact, for guests as much as for registered customers.

- `GET /v1/unsubscribe?token=...`: the page an unsubscribe link opens; it asks to confirm.
- `POST /v1/unsubscribe?token=...`: unsubscribes; also the RFC 8058 one-click POST a mail
  client sends (`List-Unsubscribe=One-Click`). A forged or expired token is a 400.
- `POST /v1/orders/{order_id}/unsubscribe`: from the order page, authorised by the order's
  customer token (or the shop's key): opts out the order's email and phone alike.
- `POST /v1/sms/inbound`: the SMS gateway's inbound-message webhook, signed like every
  webhook here (shared/signing.py, `X-Signature`); a reply "TD", "T", "STOP" or "退订"
  opts that phone out. Any other reply is acknowledged and ignored.

What an opted-out contact no longer gets: non-essential messages (domain.NON_ESSENTIAL).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.notify import domain, optout, repository, steps
from services.notify.deps import Deps
from shared.http import (
    ApiError,
    NotFound,
    PathId,
    order_access,
    parse_body,
    service_of,
    signed_body,
)
from shared.openapi import errors

router = APIRouter(prefix="/v1", tags=["notify"])

# Both answers to an unsubscribe link: a page, or a 400 for a link that is not valid.
LINK_ROUTE: dict[str, Any] = {
    "response_class": HTMLResponse,
    "responses": errors(400, s400="the link is forged, broken or expired"),
}

Token = Annotated[str, Query(min_length=10, max_length=1000, description="the link's token")]

# Per locale: the title, the question, the button, the answer once done.
PAGES = {
    "zh-CN": (
        "退订提醒",
        "{contact} 将不再收到付款提醒等非必要消息。",
        "确认退订",
        "已退订。{contact} 将不再收到非必要消息。订单与物流通知照常发送。",
    ),
    "zh-TW": (
        "取消訂閱提醒",
        "{contact} 將不再收到付款提醒等非必要訊息。",
        "確認取消訂閱",
        "已取消訂閱。{contact} 將不再收到非必要訊息。訂單與物流通知照常寄送。",
    ),
    "en": (
        "Unsubscribe from reminders",
        "{contact} will no longer get payment reminders or other non-essential messages.",
        "Unsubscribe",
        "Unsubscribed. {contact} will no longer get non-essential messages;"
        " order and delivery updates still come.",
    ),
}


class InboundSms(BaseModel):
    """A reply a customer sent to our number, as the gateway forwards it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    sender: str = Field(alias="from", min_length=3, max_length=32)
    text: str = Field(max_length=1000)
    message_id: str | None = Field(default=None, max_length=200)
    received_at: AwareDatetime | None = None


def _subscriber(request: Request, token: Token) -> tuple[optout.Subscriber, Markup]:
    """The contact the link names, and that contact masked for its page; 400 when the
    token is forged, broken or expired."""
    settings = service_of(request, Deps).deps.settings
    try:
        who = optout.read_token(
            settings.unsubscribe_secret.get_secret_value(),
            token,
            valid_seconds=settings.unsubscribe_link_days * 86400,
        )
    except optout.InvalidToken as exc:
        raise ApiError(
            "invalid_token", str(exc), fields=[{"field": "token", "message": str(exc)}]
        ) from exc
    return who, escape(domain.mask_recipient(who.channel, who.contact))


def _correlation(request: Request) -> str | None:
    return request.headers.get("X-Correlation-ID")


def _page(locale: str, heading: str, text: str, form: str = "") -> HTMLResponse:
    return HTMLResponse(
        f'<!DOCTYPE html><html lang="{locale}"><head><meta charset="utf-8">'
        f"<title>{heading}</title></head><body><h1>{heading}</h1><p>{text}</p>{form}</body></html>"
    )


@router.get("/unsubscribe", **LINK_ROUTE)
async def unsubscribe_page(request: Request, token: Token) -> HTMLResponse:
    """The page an unsubscribe link opens: asks to confirm (a link preview must not opt out)."""
    who, contact = _subscriber(request, token)
    heading, ask, button, _ = PAGES[who.locale]
    form = (
        f'<form method="post" action="?token={escape(token)}">'
        f'<button type="submit">{button}</button></form>'
    )
    return _page(who.locale, heading, ask.format(contact=contact), form)


@router.post("/unsubscribe", **LINK_ROUTE)
async def unsubscribe(request: Request, token: Token) -> HTMLResponse:
    """Opts the link's contact out of non-essential messages; a repeat changes nothing."""
    who, contact = _subscriber(request, token)
    async with service_of(request, Deps).unit(correlation_id=_correlation(request)) as unit:
        await steps.opt_out(unit, who.channel, who.contact, "email_link")
    heading, _, _, done = PAGES[who.locale]
    return _page(who.locale, heading, done.format(contact=contact))


@router.post(
    "/sms/inbound", responses=errors(401, s401="the gateway's signature is missing or wrong")
)
async def inbound_sms(request: Request) -> dict[str, Any]:
    """A customer's reply by SMS; an opt-out keyword unsubscribes the phone it came from."""
    service = service_of(request, Deps)
    secret = service.deps.settings.sms_inbound_secret
    body = parse_body(InboundSms, await signed_body(request, secret))
    if not optout.is_opt_out_keyword(body.text):
        return {"opted_out": False}
    async with service.unit(correlation_id=_correlation(request)) as unit:
        await steps.opt_out(unit, "sms", body.sender, "sms_keyword")
    return {"opted_out": True}


@router.post("/orders/{order_id}/unsubscribe", responses=errors(401, 403, 404))
async def unsubscribe_order(order_id: PathId, request: Request) -> dict[str, Any]:
    """Opts the order's contacts out of non-essential messages (a repeat changes nothing);
    the messages about the order itself (payment, shipping, refunds) still come."""
    order_access(request, order_id)
    async with service_of(request, Deps).unit(correlation_id=_correlation(request)) as unit:
        order = await repository.load_order(unit.conn, order_id)
        if order is None:
            raise NotFound("order_not_found", "notify knows no such order", order_id=order_id)
        contact = order.placed.contact
        found = {"email": contact.email, "sms": contact.phone}
        contacts = {channel: value for channel, value in found.items() if value}
        for channel, value in contacts.items():
            await steps.opt_out(unit, channel, value, "order_page")
    return {
        "order_id": order_id,
        "opted_out": [domain.mask_recipient(c, v) for c, v in sorted(contacts.items())],
    }
