"""The pay-for-me link: `GET /v1/pay/{token}` leads whoever holds it to the provider's page.

No credentials: the signed token is the key, as on a provider's own page. A redirect
(303) to the live session's page, opened again when the last one ended while the order
may still be paid; otherwise a problem saying why the link no longer pays.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.payment.deps import Deps
from services.payment.domain import AttemptStatus
from services.payment.domain.pay_links import PATH, token_order
from services.payment.steps.pay_links import follow
from services.payment.steps.sessions import when_opened
from shared.http import ApiError, Conflict, NotFound, PathId, service_of
from shared.openapi import errors
from shared.problems import problem

router = APIRouter(prefix=PATH, tags=["payment"])
OPEN_WAIT_SECONDS = 5.0
RETRY_AFTER_SECONDS = 2


class Gone(ApiError):
    status = 410


class ProviderUnavailable(ApiError):
    status = 502


_ENDED = {
    "link_replaced": "the customer chose to pay another way",
    "payment_window_over": "the time to pay this order is over",
    "order_closed": "the order was closed unpaid",
    "order_cancelled": "the order was cancelled",
}


@router.get(
    "/{token}",
    response_class=RedirectResponse,
    status_code=303,
    responses={
        303: {"description": "to the payment page of the live session"},
        **errors(404, 409, 410, 502),
    },
)
async def follow_pay_link(token: PathId, request: Request) -> Response:
    """Leads the payer to the order's live payment page, opening a new session once the
    last one has ended (once, however many open the link at once)."""
    service = service_of(request, Deps)
    order_id = token_order(service.deps.settings.order_token_secret.get_secret_value(), token)
    if order_id is None:
        raise NotFound("unknown_link", "this is not a pay-for-me link of ours")
    async with service.unit(correlation_id=request.headers.get("X-Correlation-ID")) as unit:
        found = await follow(unit, order_id)
    if found is None:
        raise NotFound("unknown_link", "this is not a pay-for-me link of ours")
    if found.refusal == "already_paid":
        raise Conflict("already_paid", "this order is paid already: nothing more to pay")
    if found.refusal is not None:
        why = _ENDED.get(found.refusal, found.refusal)
        raise Gone(found.refusal, f"this link no longer pays: {why}", reason=found.refusal)
    assert found.attempt is not None
    attempt = await when_opened(service.db, found.attempt.attempt_id, OPEN_WAIT_SECONDS)
    attempt = attempt or found.attempt
    if attempt.status == AttemptStatus.FAILED:
        raise ProviderUnavailable("provider_unavailable", attempt.failure_reason or "unknown")
    page = attempt.checkout_url or attempt.pay_link
    ours = f"{service.deps.settings.base_url.rstrip('/')}{PATH}/"
    if attempt.status == AttemptStatus.PENDING or page is None or page.startswith(ours):
        return problem(
            request, 503, "session_opening", "the payment page is being opened; try again",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )  # fmt: skip
    return RedirectResponse(page, status_code=303)
