"""The broker's ACLs follow the registry: each service writes exactly the topics it
produces (its dead letters among them), reads what it consumes, and nothing else."""

from __future__ import annotations

import json

import pytest

from shared.contracts.registry import SERVICES, TOPICS, consumed_by, dead_letter_topic
from shared.kafka.acls import CLUSTER, Acl, acls_for, all_acls, main, principal
from shared.kafka.groups import service_groups


def topics_with(service: str, operation: str) -> set[str]:
    return {
        acl.name
        for acl in acls_for(service)
        if acl.resource_type == "TOPIC" and acl.operation == operation
    }


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_writes_exactly_the_topics_it_produces(service: str) -> None:
    produced = {t.name for t in TOPICS if t.producer == service}
    assert dead_letter_topic(service).name in produced
    assert topics_with(service, "WRITE") == produced


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reads_exactly_the_topics_it_consumes(service: str) -> None:
    assert topics_with(service, "READ") == {t.name for t in consumed_by(service)}
    assert topics_with(service, "DESCRIBE") == topics_with(service, "READ") | topics_with(
        service, "WRITE"
    )


def test_nobody_writes_another_services_topic() -> None:
    writers: dict[str, list[str]] = {}
    for service in SERVICES:
        for name in topics_with(service, "WRITE"):
            writers.setdefault(name, []).append(service)
    assert writers == {t.name: [t.producer] for t in TOPICS}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_joins_only_its_own_groups(service: str) -> None:
    groups = [acl for acl in acls_for(service) if acl.resource_type == "GROUP"]
    assert groups == [Acl("GROUP", "PREFIXED", f"fulfil-{service}", "READ")]
    prefix = groups[0].name
    for suffix in ("", "-test-1a2b"):
        for group in service_groups(service, suffix).topics_by_group():
            assert group.startswith(prefix)
    others = [other for other in SERVICES if other != service]
    assert not any(
        group.startswith(prefix) for o in others for group in service_groups(o).topics_by_group()
    )


@pytest.mark.parametrize("service", SERVICES)
def test_nothing_beyond_topics_groups_and_the_idempotent_producer(service: str) -> None:
    rest = [acl for acl in acls_for(service) if acl.resource_type not in ("TOPIC", "GROUP")]
    assert rest == [Acl("CLUSTER", "LITERAL", CLUSTER, "IDEMPOTENT_WRITE")]
    assert all(
        acl.pattern_type == "LITERAL" for acl in acls_for(service) if acl.resource_type == "TOPIC"
    )


def test_an_unknown_service_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown service"):
        acls_for("billing")


def test_the_command_prints_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--print", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert set(body) == {principal(service) for service in SERVICES}
    assert body["User:order"] == [acl.__dict__ for acl in all_acls()["User:order"]]
    assert main(["--print", "--service", "notify"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(acls_for("notify"))
    assert all(line.startswith("User:notify ") for line in lines)
