"""The channels as the service builds them: the SMS client keeps as many connections alive
as the sender has sends in flight; the SMTP pool is sized from the settings."""

from __future__ import annotations

from services.notify.channels import HttpSmsGateway, SmtpEmail
from services.notify.deps import make_deps
from services.notify.settings import NotifySettings
from services.notify.sms import SmsRoutes


def test_the_sms_client_keeps_alive_a_connection_per_send_in_flight() -> None:
    deps = make_deps(NotifySettings(sender_batch_size=200))
    routes = deps.channels["sms"]
    assert isinstance(routes, SmsRoutes)
    sms = routes.providers["gateway"]  # the development gateway, unless routed elsewhere
    assert isinstance(sms, HttpSmsGateway)
    assert sms.http.concurrency == 200


def test_the_smtp_pool_is_sized_from_the_settings() -> None:
    deps = make_deps(NotifySettings(smtp_pool_size=3, smtp_idle_seconds=12))
    email = deps.channels["email"]
    assert isinstance(email, SmtpEmail)
    assert (email.pool.size, email.pool.idle_seconds) == (3, 12)
