"""The SMS adapters' pure parts: both providers' signatures against the examples in their
own documentation, the numbers as Aliyun wants them, routing by prefix, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from services.notify.channels import Delivery
from services.notify.sms import SmsRoutes, aliyun, twilio
from services.notify.sms._http import retry_after


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


async def test_the_longest_matching_prefix_picks_the_provider() -> None:
    cn, hk, rest = Recorder(), Recorder(), Recorder()
    routes = SmsRoutes({"*": "rest", "+86": "cn", "+852": "hk"}, {"cn": cn, "hk": hk, "rest": rest})
    for number in ("+8613900001111", "+85291234567", "+447700900123"):
        await routes.send(Delivery("ntf_1", "sms", number, "hello"))
    assert (cn.sent, hk.sent, rest.sent) == (
        ["+8613900001111"],
        ["+85291234567"],
        ["+447700900123"],
    )
    with pytest.raises(ValueError, match="not configured"):
        SmsRoutes({"*": "twilio"}, {})


def test_retry_after_reads_seconds_and_http_dates() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    assert 25 < (retry_after(httpx.Response(429, headers={"Retry-After": later})) or 0) <= 30
    assert retry_after(httpx.Response(429)) is None
