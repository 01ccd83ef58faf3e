"""Creates the registry's topics (and dead-letter topics), idempotently.

python -m shared.kafka.admin --bootstrap 127.0.0.1:9092
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable, Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.contracts.registry import TOPICS, Topic
from shared.kafka.security import PLAINTEXT, KafkaSecurity, aiokafka_kwargs


async def ensure_topics(
    bootstrap: str, topics: tuple[Topic, ...] = TOPICS, *, security: KafkaSecurity = PLAINTEXT
) -> list[str]:
    """Creates the topics that do not exist yet; returns the names it created."""

    def declared(replication: int) -> list[NewTopic]:
        return [
            NewTopic(
                name=t.name,
                num_partitions=t.partitions,
                replication_factor=replication,
                topic_configs=t.kafka_config()
                | ({"min.insync.replicas": "2"} if replication >= 3 else {}),
            )
            for t in topics
        ]

    return await create_missing(bootstrap, declared, security=security)


async def create_missing(
    bootstrap: str,
    wanted: Callable[[int], Sequence[NewTopic]],
    *,
    security: KafkaSecurity = PLAINTEXT,
) -> list[str]:
    """Creates those of `wanted(replication)` that do not exist yet; returns their names.
    The replication factor is the number of brokers, at most 3."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **aiokafka_kwargs(security)
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        brokers = len((await admin.describe_cluster())["brokers"])
        missing = [t for t in wanted(min(3, brokers)) if t.name not in existing]
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
    args = parser.parse_args()
    created = asyncio.run(ensure_topics(args.bootstrap))
    print(f"created {len(created)} topics: {', '.join(created) or '-'}")


if __name__ == "__main__":
    main()
