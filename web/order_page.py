"""The customer's order page, opened by the link in every message.

    GET  /orders/{order_id}?token=...&lang=...   the order as its APIs tell it
    POST /orders/{order_id}/actions              pay, cancel, confirm, refund, unsubscribe,
                                                 backorder (ship what is there, or wait)

The token is the order's customer token (shared/tokens.py): the page passes it on as a
bearer token, so each service decides whether it opens this order; the page itself
checks nothing but the form's anti-forgery token. Every action answers with a redirect
back to the page (post, redirect, get), which then says what happened.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.http import PathId
from shared.logging import get_logger
from web import i18n, security
from web.app import page, services_of, settings_of
from web.client import ApiProblem, Credential
from web.order_view import ACTIONS, REASONS, view

router = APIRouter(tags=["pages"], include_in_schema=False)
log = get_logger(__name__)
Token = Annotated[str | None, Query(max_length=200)]
Lang = Annotated[str | None, Query(max_length=10)]
Done = Annotated[str | None, Query(max_length=40)]


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order_page(
    order_id: PathId, request: Request, token: Token = None, lang: Lang = None, done: Done = None
) -> HTMLResponse:
    accept = request.headers.get("accept-language")
    asked = lang if lang in i18n.LANGUAGES else None
    if not token:
        return _refused(request, i18n.language(asked, accept, None), "bad_link", 401)
    services = services_of(request)
    credential = Credential(token)
    try:
        order = await services.order(order_id, credential, asked, accept)
        shown = i18n.language(asked, accept, order.get("locale"))
        if order.get("language", shown) != shown:  # the browser's won: one language a page
            order = await services.order(order_id, credential, shown, accept)
    except ApiProblem as problem:
        shown = i18n.language(asked, accept, None)
        if problem.status in (401, 403):
            return _refused(request, shown, "bad_link", 403)
        if problem.status == 404:
            return _refused(request, shown, "not_found", 404)
        log.warning("order not shown", order_id=order_id, status=problem.status)
        return _refused(request, shown, "unavailable", 503)
    requests: list[dict[str, Any]] = []
    try:
        requests = await services.refund_requests(order_id, credential)
    except ApiProblem as problem:  # the page still shows the order's own refund states
        log.info("refund requests not shown", order_id=order_id, status=problem.status)
    secret = settings_of(request).csrf_secret.get_secret_value()
    context = view(order, requests, shown)
    return page(
        request,
        "order.html",
        {
            **context,
            "lang": shown,
            "t": lambda key, **kw: i18n.text(shown, key, **kw),
            "refund_status": lambda code: i18n.refund_status(shown, code),
            "token": token,
            "done": done if done in _NOTICES else None,
            "error": request.query_params.get("error", "")[:300] or None,
            "csrf": security.csrf_token(secret, security.csrf_cookie(request), order_id),
            "languages": [
                (code, i18n.NAMES[code], _link(order_id, token, code)) for code in i18n.LANGUAGES
            ],
            "reasons": [(r, i18n.text(shown, f"reason_{r}")) for r in REASONS],
        },
    )


_NOTICES = {
    "cancel": "done_cancel",
    "confirm": "done_confirm",
    "backorder": "done_backorder",
    "refund": "done_refund",
    "unsubscribe": "done_unsubscribe",
}


@router.post("/orders/{order_id}/actions")
async def order_action(order_id: PathId, request: Request) -> Response:
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    token, lang = form.get("token", ""), form.get("lang")
    lang = lang if lang in i18n.LANGUAGES else i18n.DEFAULT
    secret = settings_of(request).csrf_secret.get_secret_value()
    if not security.csrf_valid(secret, request, order_id, form.get(security.CSRF_FIELD)):
        return _refused(request, lang, "expired_form", 403)
    action = form.get("action", "")
    if not token or action not in ACTIONS:
        return _refused(request, lang, "bad_link", 400)
    services, credential = services_of(request), Credential(token)
    try:
        if action == "pay":
            opened = await services.pay_again(order_id, credential, form.get("method", ""))
            target = opened.get("checkout_url") or opened.get("pay_link")
            if target:
                return RedirectResponse(str(target), status_code=303)
        elif action == "cancel":
            await services.cancel(order_id, credential)
        elif action == "confirm":
            await services.confirm_receipt(order_id, credential)
        elif action == "refund":
            body = {"reason": form.get("reason", "")}
            key = hashlib.sha256(f"{order_id}:{form.get(security.CSRF_FIELD)}:{body}".encode())
            await services.request_refund(order_id, credential, body, key.hexdigest()[:40])
        elif action == "backorder":
            await services.choose_backorder(order_id, credential, form.get("choice", ""))
        elif action == "unsubscribe":
            await services.unsubscribe(order_id, credential)
    except ApiProblem as problem:
        if problem.status in (401, 403):
            return _refused(request, lang, "bad_link", 403)
        detail = i18n.text(lang, "refused", detail=problem.detail)
        return RedirectResponse(_link(order_id, token, lang, error=detail), status_code=303)
    return RedirectResponse(_link(order_id, token, lang, done=action), status_code=303)


def _link(order_id: str, token: str, lang: str, **more: str) -> str:
    return f"/orders/{order_id}?{urlencode({'token': token, 'lang': lang, **more})}"


def _refused(request: Request, lang: str, key: str, status: int) -> HTMLResponse:
    return page(
        request,
        "message.html",
        {
            "lang": lang,
            "message": i18n.text(lang, key),
            "title": i18n.text(lang, "title", order=""),
        },
        status_code=status,
    )
