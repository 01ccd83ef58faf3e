"""SMS through real providers, chosen by the number's country: Alibaba Cloud SMS (approved
templates and a sign name) for Chinese numbers, Twilio for the others, by default; the
generic HTTP gateway (the local sink) for development, the demo and the tests.

`NOTIFY_SMS_ROUTES` maps E.164 prefixes to providers ("+86" -> aliyun, "*" -> twilio);
the longest prefix that matches a number wins. Delivery receipts come back on
`/v1/webhooks/sms/<provider>` (webhooks.py) and land in the message's delivery status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from services.notify.channels import Channel, Delivery, HttpSmsGateway
from services.notify.optout import normalised_contact
from services.notify.settings import NotifySettings, SmsProvider
from services.notify.sms.aliyun import AliyunSms
from services.notify.sms.twilio import TwilioSms


class SmsRoutes:
    """The SMS channel: hands each message to the provider its number's prefix names."""

    def __init__(self, routes: Mapping[str, str], providers: Mapping[str, Channel]) -> None:
        unknown = set(routes.values()) - set(providers)
        if unknown:
            raise ValueError(f"NOTIFY_SMS_ROUTES names providers not configured: {unknown}")
        # longest prefix first; "*" (everything else) last
        self.routes = sorted(routes.items(), key=lambda kv: (kv[0] == "*", -len(kv[0])))
        self.providers = providers

    def provider_for(self, number: str) -> str:
        """The provider for an E.164 number (normalised_contact's spelling)."""
        for prefix, provider in self.routes:
            if prefix == "*" or number.startswith(prefix):
                return provider
        raise LookupError(f"no SMS route for numbers like {number[:3]}...")

    async def send(self, delivery: Delivery) -> None:
        # one spelling per number: "0044...", "+44 ..." and a mainland mobile without +86
        # (13900001111) route, and reach the provider, as the E.164 number they are
        number = normalised_contact("sms", delivery.recipient)
        if number != delivery.recipient:
            delivery = replace(delivery, recipient=number)
        await self.providers[self.provider_for(number)].send(delivery)

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()


def channel(s: NotifySettings) -> SmsRoutes:
    """The SMS channel from the settings: only the providers the routes name are built."""
    wanted: set[SmsProvider] = set(s.sms_routes.values())
    providers: dict[str, Channel] = {}
    if "gateway" in wanted:
        providers["gateway"] = HttpSmsGateway(
            s.sms_gateway_url,
            s.sms_gateway_key.get_secret_value(),
            timeout=s.sms_timeout_seconds,
            concurrency=s.sender_batch_size,
        )
    if "aliyun" in wanted:
        providers["aliyun"] = AliyunSms.from_settings(s)
    if "twilio" in wanted:
        providers["twilio"] = TwilioSms.from_settings(s)
    return SmsRoutes(s.sms_routes, providers)
