"""Wiring: the web pages from their settings. Nothing connects at import time.

A sixth process beside the five services, with their edge (health, readiness, metrics,
problems, correlation ids: shared.http) and its own security headers (web.security).
`create_app` is what `python -m web` serves and what tests start; `pages` is the list of
routers, one per page family (the customer's order page; the console adds its own).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from shared.http import create_http_app
from shared.logging import configure_logging, get_logger
from shared.settings import refusal
from web import security
from web.client import Services
from web.settings import WebSettings

NAME = "web"
HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
# the API documentation pages of shared.http: this process has no API to document
_UNSERVED = frozenset({"/docs", "/redoc", "/openapi.json", "/docs/assets"})

log = get_logger(__name__)


def default_pages() -> list[APIRouter]:
    from web.console.views import router as console
    from web.order_page import router as order_page

    return [order_page, console]


def create_app(
    settings: WebSettings | None = None,
    services: Services | None = None,
    pages: Sequence[APIRouter] | None = None,
) -> FastAPI:
    settings = settings or WebSettings()
    services = services or Services(settings)

    async def readiness() -> dict[str, Any]:
        return await services.ready()

    app = create_http_app(NAME, readiness=readiness, routers=list(pages or default_pages()))
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", "") not in _UNSERVED]
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.add_middleware(security.SecurityHeaders)
    app.state.settings = settings
    app.state.services = services
    app.state.templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> HTMLResponse:
        return page(request, "home.html", {"lang": "en"})

    return app


def settings_of(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """`template` rendered with the request's nonce and anti-forgery value; the cookie set
    when the browser had none."""
    settings = settings_of(request)
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(
        request,
        template,
        {"nonce": security.nonce(request), "shop_name": settings.shop_name, **context},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )
    security.ensure_cookie(request, response, secure=settings.cookies_secure)
    return response


def main() -> None:
    """`python -m web`: serves the pages until SIGTERM or SIGINT. Settings that refuse to
    start (a placeholder secret outside development) exit with one line naming them."""
    try:
        settings = WebSettings()
    except Exception as exc:
        if (why := refusal(exc)) is None:
            raise
        raise SystemExit(f"{NAME} refuses to start: {why}") from None
    configure_logging(NAME, fmt=settings.resolved_log_format, level=settings.log_level)
    app = create_app(settings)
    log.info("web started", http_port=settings.http_port)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_keep_alive=75,
    )
