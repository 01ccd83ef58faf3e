"""The console's pages, behind the operations key (web/console/session.py).

    GET  /console                         funnel, flow per service, stuck, refunds, low stock
    GET  /console/funnel                  the funnel panel alone (the page refreshes it)
    GET  /console/dead-letters/{service}  pending letters, each with a replay button
    GET  /console/search?q=               orders by id, phone or email, contacts masked
    GET  /console/orders/{order_id}       every service's view and the order's events
    POST /console/login | /console/logout
    POST /console/dead-letters/{service}/{id}/replay
    POST /console/refunds/{id}/approve | /console/refunds/{id}/reject (with a reason)

Every form carries the anti-forgery token of web/security.py (scope "console"); every
action answers with a redirect back (post, redirect, get) saying what happened.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, get_args
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.http import PathId
from web import security
from web.app import page, services_of, settings_of
from web.client import Service
from web.console import data, session

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
SCOPE = "console"
ACTOR = re.compile(r"^[\w.@ -]{1,100}$")
ServiceName = Annotated[str, Path(pattern="^(" + "|".join(get_args(Service)) + ")$")]
Note = Annotated[str | None, Query(max_length=300)]


def _secret(request: Request) -> str:
    return settings_of(request).csrf_secret.get_secret_value()


def _context(request: Request, **more: Any) -> dict[str, Any]:
    cookie = security.csrf_cookie(request)
    return {"lang": "en", "csrf": security.csrf_token(_secret(request), cookie, SCOPE), **more}


def _signed_in(request: Request) -> str | None:
    try:
        return session.operator(request, _secret(request))
    except session.NotSignedIn:
        return None


def _show(request: Request, actor: str, template: str, **more: Any) -> Response:
    return page(request, template, _context(request, actor=actor, **more))


TO_LOGIN = "/console/login"


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body).items()}


async def _acting(request: Request) -> tuple[str, dict[str, str]] | Response:
    """The operator and the form of a valid action; else the answer refusing it."""
    form = await _form(request)
    if not security.csrf_valid(_secret(request), request, SCOPE, form.get(security.CSRF_FIELD)):
        return page(request, "console/message.html", _context(request, message=EXPIRED), 403)
    try:
        return session.operator(request, _secret(request)), form
    except session.NotSignedIn:
        return _back(TO_LOGIN)


EXPIRED = "This form has expired or did not come from the console. Go back and try again."


def _back(path: str, **said: str | None) -> RedirectResponse:
    query = urlencode({k: v for k, v in said.items() if v})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, error: Note = None) -> Response:
    return page(request, "console/login.html", _context(request, error=error))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    if not security.csrf_valid(_secret(request), request, SCOPE, form.get(security.CSRF_FIELD)):
        return page(request, "console/message.html", _context(request, message=EXPIRED), 403)
    actor = form.get("actor", "").strip()
    ops_key = settings_of(request).ops_api_key.get_secret_value()
    if not session.key_opens(form.get("key", ""), ops_key):
        return page(
            request, "console/login.html", _context(request, error="That key is not the key."), 403
        )
    if not ACTOR.match(actor):
        error = "Your name: letters, digits, spaces and . @ - only."
        return page(request, "console/login.html", _context(request, error=error), 422)
    response = RedirectResponse("/console", status_code=303)
    session.sign_in(response, _secret(request), actor, secure=settings_of(request).cookies_secure)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    acting = await _acting(request)
    response = RedirectResponse(TO_LOGIN, status_code=303)
    if not isinstance(acting, Response):
        session.sign_out(response)
    return response


@router.get("", response_class=HTMLResponse)
async def dashboard(request: Request, done: Note = None, error: Note = None) -> Response:
    if (actor := _signed_in(request)) is None:
        return _back(TO_LOGIN)
    found = await data.dashboard(services_of(request))
    return _show(request, actor, "console/dashboard.html", done=done, error=error, **found)


@router.get("/funnel", response_class=HTMLResponse)
async def funnel_panel(request: Request) -> Response:
    if _signed_in(request) is None:
        return Response(status_code=401)
    figures = await data.funnel(services_of(request))
    return page(request, "console/_funnel.html", _context(request, figures=figures))


@router.get("/dead-letters/{service}", response_class=HTMLResponse)
async def dead_letters(
    service: ServiceName, request: Request, done: Note = None, error: Note = None
) -> Response:
    if (actor := _signed_in(request)) is None:
        return _back(TO_LOGIN)
    found = await data.letters(services_of(request), service)  # type: ignore[arg-type]
    return _show(
        request, actor, "console/letters.html", service=service, found=found, done=done, error=error
    )


@router.post("/dead-letters/{service}/{letter_id}/replay")
async def replay(
    service: ServiceName, letter_id: Annotated[int, Path(ge=1, le=2**63 - 1)], request: Request
) -> Response:
    acting = await _acting(request)
    if isinstance(acting, Response):
        return acting
    path = f"/ops/dead-letters/{letter_id}/replay"
    why = await data.act(services_of(request), service, path, acting[0])  # type: ignore[arg-type]
    done = None if why else f"Dead letter {letter_id} replayed."
    return _back(f"/console/dead-letters/{service}", done=done, error=why)


@router.post("/refunds/{request_id}/{decision}")
async def decide(
    request_id: PathId,
    decision: Annotated[str, Path(pattern="^(approve|reject)$")],
    request: Request,
) -> Response:
    acting = await _acting(request)
    if isinstance(acting, Response):
        return acting
    actor, form = acting
    reason = form.get("reason", "").strip()
    if decision == "reject" and not reason:
        return _back("/console", error="Say why the refund is refused.")
    body = {"reason": reason[:500]} if decision == "reject" else {"note": f"approved by {actor}"}
    path = f"/v1/refund-requests/{request_id}/{decision}"
    why = await data.act(services_of(request), "returns", path, actor, body)
    said = "approved" if decision == "approve" else "refused"
    return _back("/console", done=None if why else f"Refund {request_id} {said}.", error=why)


@router.get("/search", response_class=HTMLResponse)
async def search(request: Request, q: Annotated[str, Query(max_length=254)] = "") -> Response:
    if (actor := _signed_in(request)) is None:
        return _back(TO_LOGIN)
    found = await data.search(services_of(request), q.strip()) if q.strip() else None
    return _show(request, actor, "console/search.html", q=q, found=found)


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order(order_id: PathId, request: Request) -> Response:
    if (actor := _signed_in(request)) is None:
        return _back(TO_LOGIN)
    bootstrap = settings_of(request).kafka_bootstrap
    found = await data.order_view(services_of(request), bootstrap, order_id)
    return _show(request, actor, "console/order.html", order_id=order_id, found=found)
