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
Applying is idempotent: the broker keeps one copy of an ACL created twice.
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
from aiokafka.protocol.admin import CreateAclsRequest

from shared.contracts.registry import SERVICES, TOPICS, consumed_by
from shared.kafka.groups import group_id
from shared.kafka.security import KafkaSecurity, aiokafka_kwargs
from shared.settings import KafkaSettings

ResourceType = Literal["TOPIC", "GROUP", "CLUSTER"]
PatternType = Literal["LITERAL", "PREFIXED"]
Operation = Literal["READ", "WRITE", "DESCRIBE", "IDEMPOTENT_WRITE"]

CLUSTER = "kafka-cluster"  # the cluster resource's one name
# Kafka's wire codes (org.apache.kafka.common.resource / acl enums)
_RESOURCE_CODES = {"TOPIC": 2, "GROUP": 3, "CLUSTER": 4}
_PATTERN_CODES = {"LITERAL": 3, "PREFIXED": 4}
_OPERATION_CODES = {"READ": 3, "WRITE": 4, "DESCRIBE": 8, "IDEMPOTENT_WRITE": 12}
_ALLOW = 3
_ANY_HOST = "*"


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


async def apply_acls(
    bootstrap: str, security: KafkaSecurity, services: Sequence[str] = SERVICES
) -> int:
    """Creates every service's ACLs on the broker as `security`'s (admin) principal;
    returns how many it sent. Raises if the broker refuses one."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **aiokafka_kwargs(security)
    )
    await admin.start()
    sent = 0
    try:
        for who, acls in all_acls(services).items():
            for acl in acls:
                request = CreateAclsRequest(
                    _RESOURCE_CODES[acl.resource_type],
                    acl.name,
                    _PATTERN_CODES[acl.pattern_type],
                    who,
                    _ANY_HOST,
                    _OPERATION_CODES[acl.operation],
                    _ALLOW,
                )
                response = await admin._send_request(request)
                for code, message in response.creation_responses:
                    if code != 0:
                        raise RuntimeError(f"ACL {acl} for {who} refused ({code}): {message}")
                sent += 1
    finally:
        await admin.close()
    return sent


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
