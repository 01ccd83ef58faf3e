"""`make up REPLICAS=3`: each service's instances named, found and scaled by their pid files."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local.processes import instance_name, service_of
from deploy.local.stack import REPLICAS_ENV, SERVICES, Stack
from shared.contracts.registry import TOPICS, consumed_by


def test_instances_are_named_after_their_service() -> None:
    assert [instance_name("order", i) for i in (1, 2, 3)] == ["order", "order-2", "order-3"]
    assert service_of("order-2", SERVICES) == "order"
    assert service_of("payment", SERVICES) == "payment"


def test_the_stack_lists_what_it_is_to_run_and_what_ran(tmp_path: Path) -> None:
    stack = Stack(tmp_path, replicas=2)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "order-3.pid").write_text("1")  # left by an earlier REPLICAS=3

    names = stack.instance_names()

    assert names[:2] == ["order", "order-2"]
    assert "order-3" in names
    assert stack.instances("order") == ["order", "order-3"]
    assert stack.module_of("order-3") == "services.order"


def test_replicas_come_from_the_environment_or_default_to_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(REPLICAS_ENV, raising=False)
    assert Stack(tmp_path).replicas == 1
    monkeypatch.setenv(REPLICAS_ENV, "3")
    assert Stack(tmp_path).replicas == 3
    with pytest.raises(ValueError, match="at least 1"):
        Stack(tmp_path, replicas=0)


@pytest.mark.parametrize("service", SERVICES)
def test_three_instances_each_have_a_partition_of_every_topic_they_read(service: str) -> None:
    for topic in consumed_by(service):
        assert topic.partitions >= 3, (service, topic.name, topic.partitions)
    assert all(t.partitions >= 3 for t in TOPICS)
