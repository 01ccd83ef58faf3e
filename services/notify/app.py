"""Wiring: builds the notify service from its settings. Nothing connects at import time.

The builder checks every message template before anything starts: a missing or
broken template refuses the start (TemplatesInvalid) instead of failing a send.
"""

from pathlib import Path

from services.notify import samples
from services.notify.channels import Channel, HttpSmsGateway, SmtpEmail
from services.notify.handlers import HANDLERS, TIMERS
from services.notify.optout_views import router as optout_router
from services.notify.outgoing import NotifyDeps
from services.notify.sender import run_sender
from services.notify.settings import NotifySettings
from services.notify.templates import Templates
from services.notify.views import router
from shared.runtime import ServiceDefinition

NAME = "notify"
MIGRATIONS = Path(__file__).parent / "migrations"


def channels_from(settings: NotifySettings) -> dict[str, Channel]:
    return {
        "email": SmtpEmail(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            timeout=settings.smtp_timeout_seconds,
        ),
        "sms": HttpSmsGateway(
            settings.sms_gateway_url,
            settings.sms_gateway_key.get_secret_value(),
            timeout=settings.sms_timeout_seconds,
        ),
    }


def load_templates(settings: NotifySettings) -> Templates:
    templates = Templates(settings.templates_dir)
    templates.check(samples.values(settings.shop_name))
    return templates


def build(
    settings: NotifySettings | None = None, deps: NotifyDeps | None = None
) -> ServiceDefinition:
    settings = settings or NotifySettings()
    if deps is None:
        deps = NotifyDeps(settings, load_templates(settings), channels_from(settings))
    return ServiceDefinition(
        name=NAME,
        settings=settings,
        migrations_dir=MIGRATIONS,
        handlers=HANDLERS,
        timers=TIMERS,
        routers=[router, optout_router],
        deps=deps,
        background=[run_sender],
    )
