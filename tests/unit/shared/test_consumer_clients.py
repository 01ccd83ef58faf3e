"""The service's consumer says which service it is, a named replica is a static member of
its consumer group, and offsets are never committed by the client on its own."""

from __future__ import annotations

from shared.kafka.agents import SESSION_TIMEOUT_SECONDS, consumer_config


def test_the_consumer_names_its_service_and_its_replica() -> None:
    config = consumer_config("payment", "127.0.0.1:9092", instance_id="payment-0")
    assert config["client_id"] == "fulfil-payment"
    assert config["group_id"] == "fulfil-payment"
    assert config["group_instance_id"] == "fulfil-payment-payment-0"
    assert config["session_timeout_ms"] == SESSION_TIMEOUT_SECONDS * 1000 < 60_000


def test_an_unnamed_replica_is_a_dynamic_member_of_its_group() -> None:
    config = consumer_config("order", "127.0.0.1:9092", group_suffix="-test")
    assert config["group_id"] == "fulfil-order-test"
    assert config["group_instance_id"] is None


def test_offsets_are_committed_by_the_loop_only() -> None:
    config = consumer_config("notify", "127.0.0.1:9092")
    assert config["enable_auto_commit"] is False
    assert config["auto_offset_reset"] == "earliest"
