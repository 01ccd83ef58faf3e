"""A service's Kafka clients say which service they are, and a named replica is a static
member of its consumer group."""

from __future__ import annotations

from shared.kafka.agents import SESSION_TIMEOUT_SECONDS, build_faust_app


def test_the_consumer_names_its_service_and_its_replica() -> None:
    app = build_faust_app("payment", "127.0.0.1:9092", instance_id="payment-0")
    assert app.conf.broker_client_id == "fulfil-payment"
    assert app.conf.consumer_group_instance_id == "fulfil-payment-payment-0"
    assert app.conf.broker_session_timeout == SESSION_TIMEOUT_SECONDS < 60


def test_an_unnamed_replica_is_a_dynamic_member() -> None:
    app = build_faust_app("order", "127.0.0.1:9092")
    assert app.conf.broker_client_id == "fulfil-order"
    assert app.conf.consumer_group_instance_id is None
