"""The sandbox provider's own HTTP pages, mounted under /sandbox when it is enabled.

A shopper (or a test, or the demo) opens a checkout session or a pay-for-me
link and says how it ends; the signed callback(s) reach the webhook afterwards.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.payment.deps import Deps
from services.payment.providers.sandbox import SandboxProvider, SandboxSession
from shared.http import Conflict, NotFound, service_of

router = APIRouter(prefix="/sandbox", tags=["sandbox provider"])


class Completion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["succeed", "fail"]
    reason: str | None = Field(default=None, max_length=64)
    repeat: int = Field(default=1, ge=1, le=20)
    delay_seconds: float = Field(default=0.0, ge=0, le=3600)


class RefundFailures(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=1, le=20)
    reason: str = "provider_unavailable"


def _sandbox(request: Request) -> SandboxProvider:
    provider = service_of(request, Deps).deps.providers.get(SandboxProvider.name)
    if not isinstance(provider, SandboxProvider):
        raise NotFound("sandbox_disabled", "the sandbox provider is not enabled")
    return provider


def _session(request: Request, session_id: str) -> tuple[SandboxProvider, SandboxSession]:
    sandbox = _sandbox(request)
    session = sandbox.session(session_id)
    if session is None:
        raise NotFound("unknown_session", "no sandbox checkout session has this id")
    return sandbox, session


def _page(sandbox: SandboxProvider, session: SandboxSession) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "order_id": session.order_id,
        "attempt_id": session.attempt_id,
        "method": session.method.value,
        "amount": session.amount.model_dump(),
        "status": sandbox.outcomes.get(session.session_id, "open"),
    }


# a checkout session and a pay-for-me link (anyone holding it may pay the order) are
# pages of the same kind, under two paths
@router.get("/checkout/{session_id}")
@router.get("/pay/{session_id}")
async def checkout(session_id: str, request: Request) -> dict[str, Any]:
    return _page(*_session(request, session_id))


@router.post("/checkout/{session_id}/complete", status_code=202)
@router.post("/pay/{session_id}/complete", status_code=202)
async def complete_checkout(session_id: str, body: Completion, request: Request) -> JSONResponse:
    sandbox, session = _session(request, session_id)
    if sandbox.outcomes.get(session_id) == "closed":
        raise Conflict("session_closed", "this checkout session was closed")
    sent = sandbox.complete(
        session,
        outcome=body.outcome,
        reason=body.reason,
        repeat=body.repeat,
        delay_seconds=body.delay_seconds,
    )
    return JSONResponse(status_code=202, content={**_page(sandbox, session), **sent})


@router.post("/refund-failures", status_code=202)
async def fail_next_refunds(body: RefundFailures, request: Request) -> dict[str, Any]:
    """Makes the next refunds fail (the provider is down), to watch them being retried."""
    _sandbox(request).fail_next_refunds(body.count, body.reason)
    return {"failing_next_refunds": body.count, "reason": body.reason}
