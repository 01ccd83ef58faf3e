"""Kuaidi100's signatures and tracking states, checked against digests computed outside
Python (`printf '%s' ... | md5sum`): Kuaidi100's documents describe each base string
(param + t + key + secret, param + key + customer, param + salt; MD5, upper-case hex) but
give no worked digest, so the fixed digests pin the concatenation order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.logistics.carriers import kuaidi100
from services.logistics.carriers import kuaidi100_signing as wire
from services.logistics.domain.shipping import CheckpointStatus as S

PARAM = '{"com":"yuantong","num":"YT9693083639795","resultv2":"4","show":"0","order":"desc"}'


def test_the_query_is_signed_over_param_key_customer() -> None:
    assert wire.query_sign(PARAM, "testkey", "CUSTOMER123") == "805CC4F7D1BE1E51FF500AE4AC0CD477"


def test_an_order_is_signed_over_param_t_key_secret() -> None:
    sign = wire.order_sign(PARAM, "1576123932000", "testkey", "secret456")
    assert sign == "6D5CDF8CA6FE1BB865AC46C3F1B2D1ED"


def test_a_push_is_verified_over_param_and_salt_in_utf8() -> None:
    assert wire.push_sign(PARAM, "salt-0123456789abcdef") == "EBF50CC7D7FE0ABC1D9C6368D5BD929F"
    wire.verify_push('{"nu":"顺丰"}', "2BA3F03B4D56DDF989AD0333F58391B8", "salt")
    wire.verify_push('{"nu":"顺丰"}', "2ba3f03b4d56ddf989ad0333f58391b8", "salt")  # any case


@pytest.mark.parametrize(
    ("param", "sign", "why"),
    [
        (PARAM, "EBF50CC7D7FE0ABC1D9C6368D5BD929F", "does not match"),  # another salt's
        (PARAM + " ", wire.push_sign(PARAM, "salt"), "does not match"),  # param changed
        (PARAM, None, "missing sign"),
        (None, "X", "missing param"),
    ],
)
def test_a_forged_or_incomplete_push_is_refused(
    param: str | None, sign: str | None, why: str
) -> None:
    with pytest.raises(wire.SignatureError, match=why):
        wire.verify_push(param, sign, "salt")


@pytest.mark.parametrize(
    ("code", "name", "status"),
    [
        ("0", None, S.IN_TRANSIT),
        ("1", None, S.IN_TRANSIT),  # picked up
        ("103", None, S.IN_TRANSIT),
        ("1001", None, S.ARRIVED_IN_CITY),
        ("1002", None, S.IN_TRANSIT),
        ("5", None, S.OUT_FOR_DELIVERY),
        ("501", None, S.OUT_FOR_DELIVERY),  # into a locker or station
        ("3", None, S.DELIVERED),
        ("304", None, S.DELIVERED),
        ("2", None, S.FAILED_ATTEMPT),
        ("201", None, S.FAILED_ATTEMPT),
        ("14", None, S.REFUSED),  # 拒签: the recipient refused it
        ("6", None, S.RETURNED),  # 退回: on its way back to the sender
        ("4", None, S.RETURNED_TO_SHOP),  # 退签: back, signed for by the sender
        ("401", None, S.EXCEPTION),  # 已销单: the waybill cancelled, nothing came back
        ("13", None, S.EXCEPTION),  # customs trouble
        (None, "签收", S.DELIVERED),
        (None, "派件", S.OUT_FOR_DELIVERY),
        (None, "拒签", S.REFUSED),
        (None, "退回", S.RETURNED),
        (None, "退签", S.RETURNED_TO_SHOP),
        (None, "已销单", S.EXCEPTION),
        (None, None, S.IN_TRANSIT),
    ],
)
def test_kuaidi100_states_map_to_our_checkpoints(
    code: str | None, name: str | None, status: S
) -> None:
    assert kuaidi100.checkpoint_status(code, name) is status


def test_a_tracking_result_becomes_checkpoints_oldest_first_with_stable_ids() -> None:
    result = {
        "message": "ok", "nu": "SF1234567890", "ischeck": "1", "com": "shunfeng",
        "status": "200", "state": "3", "condition": "F00",
        "data": [
            {"time": "2026-12-02 18:01:02", "ftime": "2026-12-02 18:01:02",
             "context": "已签收", "areaName": "浙江,杭州市,西湖区", "statusCode": "301"},
            {"time": "2026-12-01 09:00:00", "ftime": "2026-12-01 09:00:00",
             "context": "已揽收", "areaName": "广东,深圳市"},
        ],
    }  # fmt: skip
    first, last = kuaidi100.checkpoints(result)
    assert first.checkpoint_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # China time
    assert (first.status, first.city, first.description) == (S.IN_TRANSIT, "深圳市", "已揽收")
    assert (last.status, last.city) == (S.DELIVERED, "杭州市")
    assert [c.checkpoint_id for c in kuaidi100.checkpoints(result)] == [
        first.checkpoint_id,
        last.checkpoint_id,
    ]
    assert first.checkpoint_id.startswith("SF1234567890-")


def test_the_label_address_reads_region_first() -> None:
    chinese = {"region": "浙江省", "city": "杭州市", "line1": "西湖区文三路1号"}
    assert kuaidi100.print_address(chinese) == "浙江省杭州市西湖区文三路1号"
    latin = {"region": "Zhejiang", "city": "Hangzhou", "line1": "1 Xihu Road", "line2": None}
    assert kuaidi100.print_address(latin) == "Zhejiang Hangzhou 1 Xihu Road"
    assert kuaidi100.mobile("+86 138 0013 8000") == "13800138000"


def test_a_step_without_a_readable_time_is_skipped_not_fatal() -> None:
    result = {"nu": "YT1", "state": "0", "data": [
        {"ftime": "yesterday", "context": "?"},
        {"ftime": "2026-12-01 09:00:00", "context": "已揽收", "statusCode": 103},
        "not a step",
    ]}  # fmt: skip
    [only] = kuaidi100.checkpoints(result)
    assert (only.description, only.status) == ("已揽收", S.IN_TRANSIT)
