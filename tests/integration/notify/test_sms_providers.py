"""SMS through the real providers' wire formats (stubs in tests/support/sms_providers.py):
a +86 number goes to Aliyun with the approved template, another to Twilio; delivery
receipts land in the message's delivery status, forged ones are refused; provider faults
are retried with backoff (a 429's Retry-After honoured), the last one fails the message
with its reason, and an answer lost after the provider took a message does not double it.
Opt-out replies through either provider opt the phone out."""

from __future__ import annotations

import secrets
from typing import Any

from prometheus_client import REGISTRY

from deploy.local.sinks import Sinks
from services.notify.optout import contact_key
from services.notify.sms.twilio import CALLBACK_PATH
from shared.contracts.events.common import Contact
from shared.runtime import Runtime
from tests.integration.notify.support import notify, order_placed
from tests.support.db import rows
from tests.support.events import new_order_id, send
from tests.support.http import OPS, client
from tests.support.infra import Infra
from tests.support.polling import eventually
from tests.support.services import base_url
from tests.support.sms_providers import Fault, SmsProviders

RECEIPT_TOKEN = secrets.token_urlsafe(24)


def over_providers(stub: SmsProviders, **more: Any) -> dict[str, Any]:
    """Notify's settings to send SMS over the stubs, as production would over the real ones."""
    return {
        "sms_routes": {"+86": "aliyun", "*": "twilio"},
        "sms_aliyun_endpoint": stub.aliyun_url,
        "sms_aliyun_access_key_id": stub.aliyun.access_key_id,
        "sms_aliyun_access_key_secret": stub.aliyun.access_key_secret,
        "sms_aliyun_sign_name": stub.aliyun.sign_name,
        "sms_aliyun_templates": {
            "order_confirmation": {"code": "SMS_470001", "params": {"order": "order_id"}}
        },
        "sms_aliyun_receipt_token": RECEIPT_TOKEN,
        "sms_twilio_base_url": stub.twilio_url,
        "sms_twilio_account_sid": stub.twilio.account_sid,
        "sms_twilio_auth_token": stub.twilio.auth_token,
        "sms_twilio_from": stub.twilio.number,
        "sms_timeout_seconds": 1.0,  # the stubs' hang (3 s) outlasts it
        **more,
    }


def uk_contact(order_id: str) -> Contact:
    return Contact(
        email=f"{order_id}@example.co.uk", phone=f"+447700{secrets.randbelow(10**6):06d}"
    )


def receipts_counted(provider: str, status: str) -> float:
    labels = {"provider": provider, "status": status}
    return REGISTRY.get_sample_value("fulfil_notify_sms_receipts_total", labels) or 0.0


async def sms_row(runtime: Runtime, order_id: str, status: str = "sent") -> dict[str, Any]:
    async def probe() -> list[dict[str, Any]]:
        return await rows(
            runtime,
            "SELECT * FROM messages WHERE order_id = $1 AND channel = 'sms' AND status = $2",
            order_id,
            status,
        )

    [row] = await eventually(probe, what=f"the order's SMS {status}")
    return row


async def sms_listed(runtime: Runtime, order_id: str) -> dict[str, Any]:
    async with client(runtime) as http:
        listing = await http.get(f"/v1/orders/{order_id}/messages", headers=OPS)
    [found] = [m for m in listing.json()["messages"] if m["channel"] == "sms"]
    return found


async def test_chinese_numbers_go_to_aliyun_others_to_twilio_and_receipts_set_the_status(
    infra: Infra, database: str, sinks: Sinks, providers: SmsProviders
) -> None:
    cn, uk = new_order_id(), new_order_id()
    cn_order, uk_order = order_placed(cn), order_placed(uk, contact=uk_contact(uk))
    counted_before = receipts_counted("twilio", "failed")
    async with notify(infra, database, sinks, **over_providers(providers)) as runtime:
        await send(infra, cn_order, cn)
        await send(infra, uk_order, uk)
        cn_sms, uk_sms = await sms_row(runtime, cn), await sms_row(runtime, uk)
        [aliyun] = providers.aliyun_sent
        [twilio] = providers.twilio_sent
        receipts = f"{base_url(runtime)}/v1/webhooks/sms/aliyun?token={RECEIPT_TOKEN}"
        delivered = await providers.aliyun_report(
            receipts, aliyun, success=True, err_code="DELIVERED"
        )
        sent = await providers.twilio_status(twilio, "sent")
        undelivered = await providers.twilio_status(twilio, "undelivered", error_code="30003")
        late = await providers.twilio_status(twilio, "delivered")  # after a final one: ignored
        unknown = await providers.aliyun_report(
            receipts, aliyun.__class__(**{**vars(aliyun), "out_id": "ntf_unknown"}),
            success=False, err_code="MK:0001",
        )  # fmt: skip
        cn_listed, uk_listed = await sms_listed(runtime, cn), await sms_listed(runtime, uk)
    assert aliyun.phone == str(cn_order.contact.phone).removeprefix("+86")
    assert (aliyun.sign_name, aliyun.template_code) == (providers.aliyun.sign_name, "SMS_470001")
    assert aliyun.params == {"order": cn} and aliyun.out_id == cn_sms["id"]
    assert (twilio.to, twilio.sender) == (uk_order.contact.phone, providers.twilio.number)
    assert twilio.body == uk_sms["body_text"]
    assert twilio.status_callback == f"{base_url(runtime)}{CALLBACK_PATH}?message_id={uk_sms['id']}"
    assert delivered.status_code == 200 and delivered.json() == {"code": 0, "msg": "接收成功"}
    assert unknown.status_code == 200, "a receipt for a message we do not know is acknowledged"
    assert [r.status_code for r in (sent, undelivered, late)] == [204, 204, 204]
    assert cn_listed["delivery_status"] == "delivered" and cn_listed["provider"] == "aliyun"
    assert uk_listed["delivery_status"] == "failed" and uk_listed["provider"] == "twilio"
    assert uk_listed["delivery_error"] == "Twilio error 30003"
    assert receipts_counted("twilio", "failed") == counted_before + 1
    assert cn_listed["recipient"] != cn_order.contact.phone, "the phone stays masked"
    assert providers.refusals == []


async def test_forged_receipts_are_refused_and_change_nothing(
    infra: Infra, database: str, sinks: Sinks, providers: SmsProviders
) -> None:
    cn, uk = new_order_id(), new_order_id()
    async with notify(infra, database, sinks, **over_providers(providers)) as runtime:
        await send(infra, order_placed(cn), cn)
        await send(infra, order_placed(uk, contact=uk_contact(uk)), uk)
        await sms_row(runtime, cn), await sms_row(runtime, uk)
        [aliyun], [twilio] = providers.aliyun_sent, providers.twilio_sent
        forged = await providers.twilio_status(twilio, "delivered", auth_token="f" * 32)
        wrong_token = await providers.aliyun_report(
            f"{base_url(runtime)}/v1/webhooks/sms/aliyun?token=guess",
            aliyun,
            success=True,
            err_code="DELIVERED",
        )
        cn_listed, uk_listed = await sms_listed(runtime, cn), await sms_listed(runtime, uk)
    assert forged.status_code == 401 and forged.json()["error"] == "bad_signature"
    assert wrong_token.status_code == 401
    assert cn_listed["delivery_status"] is None and uk_listed["delivery_status"] is None


async def test_provider_faults_are_retried_with_backoff_honouring_retry_after(
    infra: Infra, database: str, sinks: Sinks, providers: SmsProviders
) -> None:
    cn, uk = new_order_id(), new_order_id()
    providers.fail_next("twilio", Fault("500"), Fault("429", retry_after=2), Fault("timeout"))
    providers.fail_next("aliyun", Fault("500"), Fault("timeout"))
    async with notify(infra, database, sinks, **over_providers(providers)) as runtime:
        await send(infra, order_placed(uk, contact=uk_contact(uk)), uk)
        await send(infra, order_placed(cn), cn)
        uk_sms = await sms_row(runtime, uk)
        cn_sms = await sms_row(runtime, cn)
    twilio = [a for a in providers.attempts if a.provider == "twilio" and a.action == "create"]
    assert [a.fault for a in twilio] == ["500", "429", "timeout", None]
    assert twilio[2].at - twilio[1].at >= 2.0, "the retry waited for Retry-After"
    assert len(providers.twilio_sent) == 1 and uk_sms["attempts"] == 4
    assert len(providers.aliyun_sent) == 1 and cn_sms["attempts"] == 3
    sends = [a.fault for a in providers.attempts if a.action == "SendSms"]
    assert sends == ["500", "timeout", None]


async def test_the_last_failed_attempt_fails_the_message_with_the_provider_reason(
    infra: Infra, database: str, sinks: Sinks, providers: SmsProviders
) -> None:
    cn, uk = new_order_id(), new_order_id()
    providers.fail_next("twilio", Fault("500"), Fault("500"))
    providers.fail_next("aliyun", Fault("500"), Fault("500"))
    settings = over_providers(providers, sender_max_attempts=2)
    async with notify(infra, database, sinks, **settings) as runtime:
        await send(infra, order_placed(uk, contact=uk_contact(uk)), uk)
        await send(infra, order_placed(cn), cn)
        uk_sms = await sms_row(runtime, uk, "failed")
        cn_sms = await sms_row(runtime, cn, "failed")
    assert uk_sms["attempts"] == 2 and "Twilio 500 (error 20500)" in uk_sms["last_error"]
    assert cn_sms["attempts"] == 2 and "ServiceUnavailable" in cn_sms["last_error"]
    assert providers.twilio_sent == [] and providers.aliyun_sent == []


async def test_an_answer_lost_after_the_provider_took_the_message_does_not_double_it(
    infra: Infra, database: str, sinks: Sinks, providers: SmsProviders
) -> None:
    cn, uk = new_order_id(), new_order_id()
    providers.fail_next("twilio", Fault("lost"))
    providers.fail_next("aliyun", Fault("lost"))
    async with notify(infra, database, sinks, **over_providers(providers)) as runtime:
        await send(infra, order_placed(uk, contact=uk_contact(uk)), uk)
        await send(infra, order_placed(cn), cn)
        uk_sms = await sms_row(runtime, uk)
        cn_sms = await sms_row(runtime, cn)
    assert len(providers.twilio_sent) == 1 and uk_sms["attempts"] == 2
    assert len(providers.aliyun_sent) == 1 and cn_sms["attempts"] == 2
    assert "outcome unknown" in (uk_sms["last_error"] or "")
    actions = [(a.provider, a.action) for a in providers.attempts]
    assert actions.count(("twilio", "list")) == 1 and actions.count(("twilio", "create")) == 1
    assert actions.count(("aliyun", "QuerySendDetails")) == 1
    assert actions.count(("aliyun", "SendSms")) == 1


async def test_opt_out_replies_through_either_provider_opt_the_phone_out(
    infra: Infra, database: str, sinks: Sinks, providers: SmsProviders
) -> None:
    cn_phone = order_placed(new_order_id()).contact.phone
    uk_phone, chatty = uk_contact("a").phone, uk_contact("b").phone
    assert cn_phone and uk_phone and chatty
    async with notify(infra, database, sinks, **over_providers(providers)) as runtime:
        url = f"{base_url(runtime)}/v1/webhooks/sms"
        td = await providers.aliyun_reply(
            f"{url}/aliyun/replies?token={RECEIPT_TOKEN}", cn_phone, "TD"
        )
        stop = await providers.twilio_reply(f"{url}/twilio/replies", uk_phone, "STOP")
        hello = await providers.twilio_reply(f"{url}/twilio/replies", chatty, "hello")
        forged = await providers.twilio_reply(
            f"{url}/twilio/replies", chatty, "STOP", auth_token="f" * 32
        )
        guessed = await providers.aliyun_reply(f"{url}/aliyun/replies?token=guess", chatty, "TD")
        stored = await rows(
            runtime,
            "SELECT contact_key, source FROM contact_opt_outs WHERE contact_key = ANY($1)",
            [contact_key("sms", p) for p in (cn_phone, uk_phone, chatty)],
        )
    assert td.status_code == 200 and td.json()["code"] == 0
    assert stop.status_code == 200 and stop.headers["content-type"].startswith("text/xml")
    assert "<Response></Response>" in stop.text
    assert hello.status_code == 200
    assert forged.status_code == 401 and guessed.status_code == 401
    assert {r["contact_key"] for r in stored} == {
        contact_key("sms", cn_phone),
        contact_key("sms", uk_phone),
    }, "the mainland number without +86 is the same contact; chatter and forgeries are not"
    assert {r["source"] for r in stored} == {"sms_keyword"}
