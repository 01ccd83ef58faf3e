"""Creates the registry's topics (and dead-letter topics), idempotently.

python -m shared.kafka.admin --bootstrap 127.0.0.1:9092 [--replication 3]

The replication factor is `FULFIL_KAFKA_REPLICATION` (or `--replication`), else the
number of brokers, at most 3. At 3 or more (cluster mode) every topic also gets
`min.insync.replicas=2`: with the producers' acks=all, a write is acknowledged only once
two brokers hold it, and one broker may be lost without losing a write or stopping them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import Callable, Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.contracts.registry import TOPICS, Topic
from shared.kafka.security import PLAINTEXT, KafkaSecurity, aiokafka_kwargs

REPLICATION_ENV = "FULFIL_KAFKA_REPLICATION"
CLUSTER_REPLICATION = 3
CLUSTER_MIN_INSYNC = 2


def configured_replication() -> int | None:
    """The replication factor `FULFIL_KAFKA_REPLICATION` asks for; None when unset."""
    raw = os.environ.get(REPLICATION_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{REPLICATION_ENV}={raw!r}: expected a positive whole number")
    return int(raw)


def topic_replication_config(replication: int) -> dict[str, str]:
    """What a topic replicated `replication` times adds to its config."""
    if replication >= CLUSTER_REPLICATION:
        return {"min.insync.replicas": str(CLUSTER_MIN_INSYNC)}
    return {}


async def ensure_topics(
    bootstrap: str,
    topics: tuple[Topic, ...] = TOPICS,
    *,
    security: KafkaSecurity = PLAINTEXT,
    replication: int | None = None,
) -> list[str]:
    """Creates the topics that do not exist yet; returns the names it created.
    `replication`: None reads `FULFIL_KAFKA_REPLICATION`, else the broker count (max 3)."""

    def declared(replication: int) -> list[NewTopic]:
        return [
            NewTopic(
                name=t.name,
                num_partitions=t.partitions,
                replication_factor=replication,
                topic_configs=t.kafka_config() | topic_replication_config(replication),
            )
            for t in topics
        ]

    if replication is None:
        replication = configured_replication()
    return await create_missing(bootstrap, declared, security=security, replication=replication)


async def create_missing(
    bootstrap: str,
    wanted: Callable[[int], Sequence[NewTopic]],
    *,
    security: KafkaSecurity = PLAINTEXT,
    replication: int | None = None,
) -> list[str]:
    """Creates those of `wanted(replication)` that do not exist yet; returns their names.
    Without `replication`, the replication factor is the number of brokers, at most 3;
    one above the number of brokers is refused (the broker would refuse every topic)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **aiokafka_kwargs(security)
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        brokers = len((await admin.describe_cluster())["brokers"])
        if replication is None:
            replication = min(CLUSTER_REPLICATION, brokers)
        elif replication > brokers:
            raise ValueError(f"replication {replication} asked of a cluster of {brokers} brokers")
        missing = [t for t in wanted(replication) if t.name not in existing]
        if not missing:
            return []
        with contextlib.suppress(TopicAlreadyExistsError):  # created meanwhile elsewhere
            await admin.create_topics(missing)
        return [t.name for t in missing]
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument(
        "--replication", type=int, help=f"default: ${REPLICATION_ENV}, else the broker count"
    )
    args = parser.parse_args()
    created = asyncio.run(ensure_topics(args.bootstrap, replication=args.replication))
    print(f"created {len(created)} topics: {', '.join(created) or '-'}")


if __name__ == "__main__":
    main()
