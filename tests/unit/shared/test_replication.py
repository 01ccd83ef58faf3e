"""Cluster mode: the replication factor the topic creation asks for, and what it adds."""

from __future__ import annotations

import pytest

from shared.kafka.admin import REPLICATION_ENV, configured_replication, topic_replication_config


def test_three_replicas_are_cluster_mode_with_two_in_sync() -> None:
    assert topic_replication_config(3) == {"min.insync.replicas": "2"}
    assert topic_replication_config(1) == {}


def test_the_replication_factor_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(REPLICATION_ENV, raising=False)
    assert configured_replication() is None  # then the broker count decides
    monkeypatch.setenv(REPLICATION_ENV, "3")
    assert configured_replication() == 3
    monkeypatch.setenv(REPLICATION_ENV, "three")
    with pytest.raises(ValueError, match=REPLICATION_ENV):
        configured_replication()
