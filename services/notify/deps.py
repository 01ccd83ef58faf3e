"""What the notify service runs with: its settings, templates, channels and policies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.notify import domain, samples, sms
from services.notify.channels import Channel, SmtpEmail
from services.notify.settings import NotifySettings
from services.notify.templates import Templates


@dataclass
class Deps:
    settings: NotifySettings
    templates: Templates
    channels: Mapping[str, Channel]
    quiet: domain.QuietHours
    schedule: domain.ReminderSchedule


def make_deps(
    settings: NotifySettings,
    *,
    templates: Templates | None = None,
    channels: Mapping[str, Channel] | None = None,
) -> Deps:
    """The service's dependencies from its settings. Every message template is checked
    first: a missing or broken one refuses the start (TemplatesInvalid), not a send."""
    if templates is None:
        templates = Templates(settings.templates_dir)
        templates.check(samples.values(settings.shop_name))
    if channels is None:
        channels = {
            "email": SmtpEmail(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_from,
                timeout=settings.smtp_timeout_seconds,
                username=settings.smtp_username,
                password=secret.get_secret_value() if (secret := settings.smtp_password) else None,
                pool_size=settings.smtp_pool_size,
                idle_seconds=settings.smtp_idle_seconds,
                security=settings.smtp_security,
                ca_file=settings.smtp_ca_file,
            ),
            "sms": sms.channel(settings),
        }
    s = settings
    return Deps(
        settings=s,
        templates=templates,
        channels=channels,
        quiet=domain.QuietHours(s.quiet_hours_start, s.quiet_hours_end),
        schedule=domain.ReminderSchedule(
            offsets_seconds=s.reminder_offsets_seconds,
            before_close_seconds=s.reminder_before_close_seconds,
            min_gap_seconds=s.reminder_min_gap_seconds,
            max_count=s.reminder_max,
        ),
    )
