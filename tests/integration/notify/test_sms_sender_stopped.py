"""A sender that stops after the provider took an SMS and before the outcome is committed
(the process dies between the call and its commit) does not send it twice: the claim is
committed before the call, so the next sender knows the call may have gone out and asks
the provider (Twilio's message list, Aliyun's QuerySendDetails by OutId) first."""

from __future__ import annotations

from typing import Any

import pytest

from deploy.local.sinks import Sinks
from services.notify import sender
from tests.integration.notify.support import notify, order_placed
from tests.integration.notify.test_sms_providers import over_providers, sms_row, uk_contact
from tests.support.events import new_order_id, send
from tests.support.infra import Infra
from tests.support.sms_providers import SmsProviders


async def test_an_sms_sent_by_a_sender_that_stopped_before_its_commit_is_not_sent_again(
    infra: Infra,
    database: str,
    sinks: Sinks,
    providers: SmsProviders,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorded = sender.record_outcomes
    stopped: list[int] = []

    async def stops_once(runtime: Any, results: list[Any]) -> None:
        if any(row["channel"] == "sms" for row, _ in results) and not stopped:
            stopped.append(len(results))  # the calls went out; nothing is committed
            raise RuntimeError("the sender stopped before recording its outcomes")
        await recorded(runtime, results)

    monkeypatch.setattr(sender, "record_outcomes", stops_once)
    cn, uk = new_order_id(), new_order_id()
    quick = {"sender_lease_seconds": 1.0, "sender_poll_seconds": 0.3}
    async with notify(infra, database, sinks, **over_providers(providers, **quick)) as runtime:
        await send(infra, order_placed(uk, contact=uk_contact(uk)), uk)
        await send(infra, order_placed(cn), cn)
        uk_sms = await sms_row(runtime, uk)
        cn_sms = await sms_row(runtime, cn)
    assert stopped, "a pass stopped after its calls"
    assert len(providers.twilio_sent) == 1 and len(providers.aliyun_sent) == 1
    assert uk_sms["claims"] >= 2 and cn_sms["claims"] >= 2
    actions = [(a.provider, a.action) for a in providers.attempts]
    assert actions.count(("twilio", "create")) == 1 and ("twilio", "list") in actions
    assert actions.count(("aliyun", "SendSms")) == 1
    assert ("aliyun", "QuerySendDetails") in actions
