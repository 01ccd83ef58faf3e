"""Wiring: builds the notify service from its settings. Nothing connects at import time."""

from pathlib import Path

from services.notify.deps import make_deps
from services.notify.handlers import HANDLERS, TIMERS
from services.notify.ops import announce
from services.notify.optout_views import router as optout_router
from services.notify.sender import run_sender
from services.notify.settings import NotifySettings
from services.notify.sms.replies import router as replies_router
from services.notify.sms.webhooks import router as receipts_router
from services.notify.views import router
from shared.runtime import Wiring

NAME = "notify"
MIGRATIONS = Path(__file__).parent / "migrations"

WIRING = Wiring(
    NAME,
    MIGRATIONS,
    NotifySettings,
    make_deps,
    HANDLERS,
    TIMERS,
    routers=[router, optout_router, receipts_router, replies_router],
    background=[run_sender, announce],
)
build = WIRING.build
