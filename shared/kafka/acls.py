"""The broker's ACLs, generated from the topic registry: the single-writer rule, enforced.

Each service connects as its own principal (`User:<service>`), which may

- WRITE and DESCRIBE the topics the registry says it produces, its dead-letter topic
  among them (the registry declares `deadletter.<service>.v1` as the service's own),
  and IDEMPOTENT_WRITE on the cluster (the outbox relay's producer is idempotent);
- READ and DESCRIBE the topics it consumes;
- READ its consumer groups: every group is named `fulfil-<service>...` (shared.kafka.groups:
  the aiokafka group, faust's `-streams` group and the suffixes tests and replicas add),
  hence one prefixed grant.

Nothing else: no transactional ids (no producer is transactional) and no faust internal
topics (the leader topic is disabled and no service declares a table, so faust creates
none). The admin principal is a super user of the broker and needs no ACL.

    python -m shared.kafka.acls --print            # the ACLs, one a line
    python -m shared.kafka.acls --apply --bootstrap 127.0.0.1:9092   # as FULFIL_KAFKA_...

`acls_for(service)` is a pure function; the deployment manifests render the same list.
Applying is idempotent: the broker keeps one copy of an ACL created twice, and a grant a
service's principal holds that the registry no longer gives (a topic it stopped
producing) is deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest

from shared.contracts.registry import SERVICES, TOPICS, consumed_by
from shared.kafka.groups import group_id
from shared.kafka.security import KafkaSecurity, aiokafka_kwargs
from shared.settings import KafkaSettings

ResourceType = Literal["TOPIC", "GROUP", "CLUSTER"]
PatternType = Literal["LITERAL", "PREFIXED"]
Operation = Literal["READ", "WRITE", "DESCRIBE", "IDEMPOTENT_WRITE"]

CLUSTER = "kafka-cluster"  # the cluster resource's one name
# Kafka's wire codes (org.apache.kafka.common.resource / acl enums)
_RESOURCE_CODES: dict[ResourceType, int] = {"TOPIC": 2, "GROUP": 3, "CLUSTER": 4}
_PATTERN_CODES: dict[PatternType, int] = {"LITERAL": 3, "PREFIXED": 4}
_OPERATION_CODES: dict[Operation, int] = {
    "READ": 3,
    "WRITE": 4,
    "DESCRIBE": 8,
    "IDEMPOTENT_WRITE": 12,
}
_ALLOW = 3
_ANY = 1  # a filter's "any" for resource, pattern, operation and permission types
_ANY_HOST = "*"
_RESOURCES = {code: name for name, code in _RESOURCE_CODES.items()}
_PATTERNS = {code: name for name, code in _PATTERN_CODES.items()}
_OPERATIONS = {code: name for name, code in _OPERATION_CODES.items()}


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW grant to a service's principal, from any host."""

    resource_type: ResourceType
    pattern_type: PatternType
    name: str
    operation: Operation


def principal(service: str) -> str:
    return f"User:{service}"


def acls_for(service: str) -> list[Acl]:
    """What `service`'s principal may do, from the registry; sorted, no duplicates."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
    acls: set[Acl] = {Acl("CLUSTER", "LITERAL", CLUSTER, "IDEMPOTENT_WRITE")}
    for topic in TOPICS:
        if topic.producer == service:
            acls |= {Acl("TOPIC", "LITERAL", topic.name, op) for op in ("WRITE", "DESCRIBE")}
    for topic in consumed_by(service):
        acls |= {Acl("TOPIC", "LITERAL", topic.name, op) for op in ("READ", "DESCRIBE")}
    acls.add(Acl("GROUP", "PREFIXED", group_id(service), "READ"))
    return sorted(acls)


def all_acls(services: Iterable[str] = SERVICES) -> dict[str, list[Acl]]:
    return {principal(service): acls_for(service) for service in services}


def admin_client(bootstrap: str, security: KafkaSecurity) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **aiokafka_kwargs(security)
    )


async def apply_acls(
    bootstrap: str, security: KafkaSecurity, services: Sequence[str] = SERVICES
) -> int:
    """Makes every service's ACLs on the broker what `acls_for` says, as `security`'s
    (admin) principal: creates them and deletes the grants no longer generated; returns
    how many it created. Raises if the broker refuses a request."""
    admin = admin_client(bootstrap, security)
    await admin.start()
    sent = 0
    try:
        for who, acls in all_acls(services).items():
            for acl in acls:
                response = await admin._send_request(CreateAclsRequest(*wire_codes(acl, who)))
                for code, message in response.creation_responses:
                    _check(code, message, f"creating {acl} for {who}")
                sent += 1
            for stale in set(await _held(admin, who)) - set(acls):
                response = await admin._send_request(DeleteAclsRequest(*wire_codes(stale, who)))
                for code, message, *_ in response.filter_responses:
                    _check(code, message, f"deleting {stale} for {who}")
    finally:
        await admin.close()
    return sent


async def held_acls(bootstrap: str, security: KafkaSecurity, service: str) -> list[Acl]:
    """The ALLOW grants the broker holds for `service`'s principal, sorted."""
    admin = admin_client(bootstrap, security)
    await admin.start()
    try:
        return await _held(admin, principal(service))
    finally:
        await admin.close()


async def _held(admin: AIOKafkaAdminClient, who: str) -> list[Acl]:
    """The grants of `who` of the kinds this module makes (others are not its to judge)."""
    request = DescribeAclsRequest(_ANY, None, _ANY, who, None, _ANY, _ALLOW)
    response = await admin._send_request(request)
    _check(response.error_code, response.error_message, f"describing the ACLs of {who}")
    return sorted(
        Acl(_RESOURCES[resource], _PATTERNS[pattern], name, _OPERATIONS[operation])
        for resource, name, pattern, grants in response.resources
        for _principal, _host, operation, _permission in grants
        if resource in _RESOURCES and pattern in _PATTERNS and operation in _OPERATIONS
    )


def wire_codes(acl: Acl, who: str) -> tuple[int, str, int, str, str, int, int]:
    """An ACL as CreateAcls and DeleteAcls take it (a delete filter matching it alone)."""
    return (
        _RESOURCE_CODES[acl.resource_type],
        acl.name,
        _PATTERN_CODES[acl.pattern_type],
        who,
        _ANY_HOST,
        _OPERATION_CODES[acl.operation],
        _ALLOW,
    )


def _check(code: int, message: str | None, what: str) -> None:
    if code != 0:
        raise RuntimeError(f"the broker refused {what} (error {code}): {message}")


def _line(who: str, acl: Acl) -> str:
    return (
        f"{who:<16} ALLOW {acl.operation:<16} {acl.resource_type:<7} "
        f"{acl.pattern_type:<8} {acl.name}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.kafka.acls", description=__doc__.split("\n")[0]
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--print", action="store_true", help="show the ACLs")
    action.add_argument("--apply", action="store_true", help="create them on the broker")
    parser.add_argument("--json", action="store_true", help="with --print: as JSON")
    parser.add_argument("--bootstrap", help="with --apply: the broker")
    parser.add_argument("--service", action="append", choices=SERVICES, help="only these")
    args = parser.parse_args(argv)
    services = tuple(args.service or SERVICES)
    if args.print:
        acls = all_acls(services)
        if args.json:
            body = {who: [asdict(acl) for acl in grants] for who, grants in acls.items()}
            print(json.dumps(body, indent=2))
        else:
            for who, grants in acls.items():
                for acl in grants:
                    print(_line(who, acl))
        return 0
    if not args.bootstrap:
        parser.error("--apply needs --bootstrap")
    security = KafkaSecurity.from_settings(KafkaSettings())
    sent = asyncio.run(apply_acls(args.bootstrap, security, services))
    print(f"applied {sent} ACLs for {', '.join(services)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
