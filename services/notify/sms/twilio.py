"""Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`,
HTTP basic auth (the Account SID and auth token), a form body (To, From or
MessagingServiceSid, Body, StatusCallback). Twilio answers 201 with the message resource,
or an error `{code, message, more_info, status}`; 429 carries `Retry-After`.

Twilio takes no idempotency key. What keeps a lost answer from doubling a message: an
attempt after the first (the one before may have reached Twilio) first lists the latest
messages to the number (`GET .../Messages.json?To=...`, newest first) and sends only if
none from us in the last day has the same body. Two different messages with the same text
to the same number within a day would be taken for one: none of our templates repeat
their text for one order, and a message once too few beats one twice.

The status callback URL carries our message id (`?message_id=`): Twilio signs the full
URL with the form (`X-Twilio-Signature`, verified in webhooks.py), so the id is as
trustworthy as the status.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from services.notify.channels import ChannelError, Delivery
from services.notify.settings import NotifySettings
from services.notify.sms._http import retry_after, transient_status, unreachable
from shared.http_client import Answer, KeptAlive, Send, Unreachable

CALLBACK_PATH = "/v1/webhooks/sms/twilio"
_LOOKBACK = timedelta(days=1)
_RECENT = 20  # the newest messages to a number a retry looks through


def signature(url: str, params: dict[str, str], auth_token: str) -> str:
    """X-Twilio-Signature: HMAC-SHA1 (the auth token as key) of the full URL followed by
    each POST parameter's name and value, sorted by name; base64."""
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify(url: str, params: dict[str, str], auth_token: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(signature(url, params, auth_token), given)


def callback_url(base_url: str, message_id: str) -> str:
    return f"{base_url.rstrip('/')}{CALLBACK_PATH}?{urlencode({'message_id': message_id})}"


class TwilioSms:
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        callback_base_url: str,
        sender: str | None = None,
        messaging_service_sid: str | None = None,
        base_url: str = "https://api.twilio.com",
        timeout: float = 10.0,
        concurrency: int = 20,
        send: Send | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth = (account_sid, auth_token)
        self.callback_base_url = callback_base_url
        self.sender = sender
        self.messaging_service_sid = messaging_service_sid
        self.messages_url = (
            f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        )
        self.http = KeptAlive(timeout=timeout, concurrency=concurrency, send=send)

    @classmethod
    def from_settings(cls, s: NotifySettings) -> TwilioSms:
        token = s.sms_twilio_auth_token
        return cls(
            account_sid=s.sms_twilio_account_sid or "",
            auth_token=token.get_secret_value() if token else "",
            callback_base_url=s.base_url,
            sender=s.sms_twilio_from,
            messaging_service_sid=s.sms_twilio_messaging_service_sid,
            base_url=s.sms_twilio_base_url,
            timeout=s.sms_timeout_seconds,
            concurrency=s.sender_batch_size,
        )

    async def send(self, delivery: Delivery) -> None:
        if delivery.attempt > 1 and await self.already_sent(delivery):
            return
        form = {
            "To": delivery.recipient,
            "Body": delivery.text,
            "StatusCallback": callback_url(self.callback_base_url, delivery.message_id),
        }
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        else:
            form["From"] = self.sender or ""
        response = await self.request("POST", self.messages_url, data=form)
        if response.status not in (200, 201):
            raise refusal(response)

    async def already_sent(self, delivery: Delivery) -> bool:
        """Whether one of the newest messages to this number from us is this one."""
        query = {"To": delivery.recipient, "PageSize": str(_RECENT)}
        if self.sender and not self.messaging_service_sid:
            query["From"] = self.sender
        response = await self.request("GET", self.messages_url, params=query)
        if response.status != 200:
            error = refusal(response)
            raise ChannelError(str(error), permanent=False, retry_after=error.retry_after)
        since = datetime.now(UTC) - _LOOKBACK
        return any(
            m.get("body") == delivery.text and _created(m) >= since
            for m in response.json().get("messages", [])
        )

    async def request(self, method: str, url: str, **kwargs: Any) -> Answer:
        try:
            return await self.http.request(method, url, auth=self.auth, **kwargs)
        except Unreachable as exc:
            raise unreachable("Twilio", exc) from exc

    async def aclose(self) -> None:
        await self.http.aclose()


def _created(message: dict[str, Any]) -> datetime:
    """A message resource's date_created (RFC 2822, as Twilio writes its dates)."""
    try:
        return parsedate_to_datetime(message["date_created"])
    except (KeyError, TypeError, ValueError):
        return datetime.now(UTC)  # undated: taken as recent


def refusal(response: Answer) -> ChannelError:
    try:
        error = response.json()
    except ValueError:
        error = {}
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else response.text[:200]
    return ChannelError(
        f"Twilio {response.status} (error {code}): {message}",
        permanent=not transient_status(response.status),
        retry_after=retry_after(response),
    )
