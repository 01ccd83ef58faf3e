"""A service reads the topics every order's happy path carries in its own group, the others
in a `-streams` group that faust runs: every consumed topic in exactly one of them."""

from __future__ import annotations

import pytest

from shared.contracts.registry import SERVICES, consumed_by
from shared.kafka.agents import build_faust_app
from shared.kafka.groups import service_groups


@pytest.mark.parametrize("service", SERVICES)
def test_each_consumed_topic_is_read_by_exactly_one_group(service: str) -> None:
    groups = service_groups(service, "-test")
    hot, cold = {t.name for t in groups.hot}, {t.name for t in groups.cold}
    assert hot | cold == {t.name for t in consumed_by(service)}
    assert not hot & cold
    assert all(t.per_order for t in groups.hot) and not any(t.per_order for t in groups.cold)
    by_group = groups.topics_by_group()
    read = [name for topics in by_group.values() for name in topics]
    assert sorted(read) == sorted(t.name for t in consumed_by(service))


def test_the_cold_topics_go_to_the_streams_group() -> None:
    groups = service_groups("payment", "-t1")
    assert groups.topics_by_group() == {
        "fulfil-payment-t1": ["orders.v1", "shipments.v1"],
        "fulfil-payment-t1-streams": ["returns.v1"],
    }


def test_returns_reads_the_catalogue_prices_in_its_streams_group() -> None:
    assert service_groups("returns").topics_by_group() == {
        "fulfil-returns": ["orders.v1", "payments.v1", "shipments.v1"],
        "fulfil-returns-streams": ["stock.v1"],
    }


def test_a_named_replica_is_a_static_member_of_its_streams_group_under_its_own_id() -> None:
    groups = service_groups("payment")
    app = build_faust_app(
        "payment", "127.0.0.1:9092", group_suffix=groups.streams_suffix, instance_id="payment-0"
    )
    assert app.conf.id == "fulfil-payment-streams"
    assert app.conf.consumer_group_instance_id == "fulfil-payment-streams-payment-0"
