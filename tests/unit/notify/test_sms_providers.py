"""The SMS adapters' pure parts: both providers' signatures against the examples in their
own documentation, the numbers as Aliyun wants them, routing by prefix, Retry-After, and
which provider errors fail a message for good and which are retried."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from services.notify.channels import ChannelError, Delivery
from services.notify.settings import AliyunTemplate
from services.notify.sms import SmsRoutes, aliyun, twilio
from services.notify.sms._http import retry_after
from shared.http_client import Answer, Send


def test_the_aliyun_signature_is_the_documented_one() -> None:
    # Aliyun's signature version 1.0 example: AccessKey testid / testsecret, DescribeRegions
    params = {
        "TimeStamp": "2016-02-23T12:46:24Z",
        "Format": "XML",
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "Version": "2014-05-26",
        "SignatureVersion": "1.0",
    }
    assert aliyun.signature(params, "testsecret", "GET") == "CT9X0VtwR86fNWSnsc6v8YGOjuE="


def test_the_twilio_signature_is_the_documented_one() -> None:
    # Twilio's webhook security example: auth token 12345
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio.signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert twilio.verify(url, params, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not twilio.verify(
        url, {**params, "Digits": "9"}, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )
    assert not twilio.verify(url, params, "12345", None)


def test_aliyun_numbers_lose_the_mainland_prefix_and_keep_other_country_codes() -> None:
    assert aliyun.phone_number("+8613900001111") == "13900001111"
    assert aliyun.phone_number("+85291234567") == "85291234567"


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, delivery: Delivery) -> None:
        self.sent.append(delivery.recipient)

    async def aclose(self) -> None:
        return None


async def test_the_longest_matching_prefix_of_the_e164_number_picks_the_provider() -> None:
    cn, hk, rest = Recorder(), Recorder(), Recorder()
    routes = SmsRoutes({"*": "rest", "+86": "cn", "+852": "hk"}, {"cn": cn, "hk": hk, "rest": rest})
    numbers = ("+8613900001111", "+85291234567", "+447700900123", "13900002222", "0044 7700 900124")
    for number in numbers:
        await routes.send(Delivery("ntf_1", "sms", number, "hello"))
    assert cn.sent == ["+8613900001111", "+8613900002222"], "a mainland mobile without +86"
    assert hk.sent == ["+85291234567"]
    assert rest.sent == ["+447700900123", "+447700900124"], "one E.164 spelling"
    with pytest.raises(ValueError, match="not configured"):
        SmsRoutes({"*": "twilio"}, {})


def test_retry_after_reads_seconds_and_http_dates() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert retry_after(Answer(429, headers={"retry-after": "7"})) == 7.0
    assert 25 < (retry_after(Answer(429, headers={"Retry-After": later})) or 0) <= 30
    assert retry_after(Answer(429)) is None


def answering(answer: Answer) -> Send:
    """A provider that answers every call with `answer`."""

    async def send(method: str, url: str, **kwargs: Any) -> Answer:
        return answer

    return send


def reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(body).encode(), headers or {})


def _aliyun(answer: Answer) -> aliyun.AliyunSms:
    template = AliyunTemplate(code="SMS_470001", params={"order": "order_ref"})
    return aliyun.AliyunSms(
        access_key_id="LTAI-test",
        access_key_secret="secret-made-here",
        sign_name="富饶商城",
        templates={"order_confirmation": template},
        shop_name="Shop",
        send=answering(answer),
    )


def _twilio(answer: Answer) -> twilio.TwilioSms:
    return twilio.TwilioSms(
        account_sid="AC" + "0" * 32,
        auth_token="token-made-here",
        callback_base_url="https://notify.example",
        sender="+15005550006",
        send=answering(answer),
    )


SMS = Delivery("ntf_1", "sms", "+8613900001111", "hello", template="order_confirmation")


@pytest.mark.parametrize(
    ("code", "permanent", "retry_after"),
    [
        ("isv.MOBILE_NUMBER_ILLEGAL", True, None),
        ("isv.SMS_TEMPLATE_ILLEGAL", True, None),
        ("isv.BUSINESS_LIMIT_CONTROL", False, 60.0),
        ("isp.SYSTEM_ERROR", False, None),
    ],
)
async def test_aliyun_error_codes_are_permanent_or_retried(
    code: str, permanent: bool, retry_after: float | None
) -> None:
    body = {"Code": code, "Message": "...", "RequestId": "R1"}
    with pytest.raises(ChannelError) as refused:
        await _aliyun(reply(200, body)).send(SMS)
    assert (refused.value.permanent, refused.value.retry_after) == (permanent, retry_after)


async def test_an_aliyun_5xx_without_a_code_is_retried() -> None:
    with pytest.raises(ChannelError) as refused:
        await _aliyun(reply(502, {"error": "bad gateway"})).send(SMS)
    assert not refused.value.permanent


async def test_a_template_aliyun_has_not_approved_fails_at_once() -> None:
    unmapped = Delivery("ntf_2", "sms", "+8613900001111", "hello", template="delivered")
    with pytest.raises(ChannelError, match="no approved Aliyun template") as refused:
        await _aliyun(reply(200, {"Code": "OK"})).send(unmapped)
    assert refused.value.permanent


@pytest.mark.parametrize(
    ("status", "code", "permanent", "retry_after"),
    [(400, 21211, True, None), (401, 20003, True, None), (429, 20429, False, 3.0)],
)
async def test_twilio_errors_are_permanent_or_retried(
    status: int, code: int, permanent: bool, retry_after: float | None
) -> None:
    body = {"code": code, "message": "...", "more_info": "...", "status": status}
    headers = {"Retry-After": "3"} if status == 429 else {}
    uk = Delivery("ntf_3", "sms", "+447700900123", "hello")
    with pytest.raises(ChannelError) as refused:
        await _twilio(reply(status, body, headers)).send(uk)
    assert (refused.value.permanent, refused.value.retry_after) == (permanent, retry_after)
    assert f"error {code}" in str(refused.value)
