"""HTTP routes of the notify service: preferences, an order's messages, reminder statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from services.notify import domain, repository, steps
from services.notify.deps import Deps
from shared.http import NotFound, PathId, require_role, service_of
from shared.openapi import errors

router = APIRouter(prefix="/v1", tags=["notify"])

CustomerId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:@-]+$")]


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[Literal["email", "sms"]] = Field(min_length=1, max_length=2)
    marketing_opt_out: bool = False


class PreferencesOut(BaseModel):
    customer_id: str
    channels: list[str]
    marketing_opt_out: bool
    updated_at: datetime | None


class MessageOut(BaseModel):
    id: str
    template: str
    channel: str
    locale: str
    recipient: str
    subject: str | None
    status: str
    variant: str | None
    source_event_id: str
    source_type: str
    attempts: int
    last_error: str | None
    skip_reason: str | None = None  # why a message recorded as skipped did not go
    created_at: datetime
    send_after: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    # what the SMS provider reported afterwards: delivered, or failed with its error code
    delivery_status: str | None = None
    delivery_error: str | None = None
    provider: str | None = None
    delivery_reported_at: datetime | None = None


class VariantStats(BaseModel):
    variant: str
    orders_reminded: int
    reminders_sent: int
    converted: int
    conversion_rate: float


def shop_key(request: Request) -> None:
    require_role(request, "shop")


def shop_or_ops_key(request: Request) -> None:
    require_role(request, "shop", "ops")


def ops_key(request: Request) -> None:
    require_role(request, "ops")


def _preferences_out(customer_id: str, row: Any) -> PreferencesOut:
    prefs = domain.Preferences(**{k: row[k] for k in ("email", "sms", "marketing_opt_out")})
    return PreferencesOut(
        customer_id=customer_id,
        channels=[c for c in domain.CHANNELS if getattr(prefs, c)],
        marketing_opt_out=prefs.marketing_opt_out,
        updated_at=row["updated_at"],
    )


@router.put(
    "/customers/{customer_id}/preferences",
    response_model=PreferencesOut,
    dependencies=[Depends(shop_key)],
    responses=errors(401, 403),
)
async def put_preferences(
    request: Request, body: PreferencesIn, customer_id: CustomerId
) -> PreferencesOut:
    """Which channels a customer gets, and whether they opted out of reminders."""
    prefs = domain.Preferences(
        email="email" in body.channels,
        sms="sms" in body.channels,
        marketing_opt_out=body.marketing_opt_out,
    )
    service = service_of(request, Deps)
    async with service.unit(correlation_id=request.headers.get("X-Correlation-ID")) as unit:
        row = await steps.save_preferences(unit, customer_id, prefs)
    return _preferences_out(customer_id, row)


@router.get(
    "/customers/{customer_id}/preferences",
    response_model=PreferencesOut,
    dependencies=[Depends(shop_or_ops_key)],
    responses=errors(401, 403),
)
async def get_preferences(request: Request, customer_id: CustomerId) -> PreferencesOut:
    async with service_of(request, Deps).db.acquire() as conn:
        row = await repository.preferences_row(conn, customer_id)
    if row is None:
        defaults = domain.Preferences()
        row = {**vars(defaults), "updated_at": None}
    return _preferences_out(customer_id, row)


@router.get(
    "/orders/{order_id}/messages",
    dependencies=[Depends(shop_or_ops_key)],
    responses=errors(401, 403, 404),
)
async def order_messages(request: Request, order_id: PathId) -> dict[str, Any]:
    """Every message for an order, for customer support; recipients are masked."""
    async with service_of(request, Deps).db.acquire() as conn:
        if not await repository.order_known(conn, order_id):
            raise NotFound("order_not_found", f"no messages are known for order {order_id}")
        rows = await repository.messages_for(conn, order_id)
    messages = [
        MessageOut(
            **{**dict(r), "recipient": domain.mask_recipient(r["channel"], r["recipient"])}
        ).model_dump(mode="json")
        for r in rows
    ]
    return {"order_id": order_id, "messages": messages}


@router.get("/stats/reminders", dependencies=[Depends(ops_key)], responses=errors(401, 403))
async def reminder_stats(request: Request) -> dict[str, Any]:
    """Per wording variant: orders reminded, reminders sent, orders paid after a reminder."""
    service = service_of(request, Deps)
    async with service.db.acquire() as conn:
        rows = {r["variant"]: r for r in await repository.reminder_stats(conn)}
    variants = list(dict.fromkeys([*service.deps.settings.reminder_variants, *rows]))
    out = []
    for name in variants:
        r = rows.get(name)
        reminded = r["orders_reminded"] if r else 0
        converted = r["converted"] if r else 0
        out.append(
            VariantStats(
                variant=name,
                orders_reminded=reminded,
                reminders_sent=r["reminders_sent"] if r else 0,
                converted=converted,
                conversion_rate=round(converted / reminded, 4) if reminded else 0.0,
            ).model_dump()
        )
    return {"variants": out}
