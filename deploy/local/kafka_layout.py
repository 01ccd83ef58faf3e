"""A KRaft cluster's layout: node ids, ports, the cluster id, each node's properties."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from deploy.local.kafka_jars import KAFKA_VERSION
from deploy.local.ports import LOOPBACK, free_ports


@dataclass(frozen=True)
class NodeSpec:
    node_id: int
    port: int
    controller_port: int


@dataclass(frozen=True)
class ClusterSpec:
    cluster_id: str
    nodes: tuple[NodeSpec, ...]

    @property
    def bootstrap(self) -> str:
        return ",".join(f"{LOOPBACK}:{node.port}" for node in self.nodes)

    def to_json(self) -> str:
        body = {
            "kafka_version": KAFKA_VERSION,
            "cluster_id": self.cluster_id,
            "node_count": len(self.nodes),
            "nodes": [asdict(node) for node in self.nodes],
        }
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ClusterSpec:
        body = json.loads(text)
        return cls(body["cluster_id"], tuple(NodeSpec(**node) for node in body["nodes"]))

    @classmethod
    def new(cls, node_count: int) -> ClusterSpec:
        ports = free_ports(2 * node_count)
        nodes = tuple(
            NodeSpec(node_id=i + 1, port=ports[2 * i], controller_port=ports[2 * i + 1])
            for i in range(node_count)
        )
        return cls(_random_cluster_id(), nodes)


def _random_cluster_id() -> str:
    """A Kafka ``Uuid`` string: 16 random bytes, URL-safe base64, no padding."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):  # Kafka refuses ids that look like options
            return text


def server_properties(
    spec: ClusterSpec,
    node: NodeSpec,
    data_dir: Path,
    overrides: Mapping[str, str],
    client_protocol: str = "PLAINTEXT",
) -> str:
    """The ``server.properties`` of one combined broker+controller node. Clients and the
    other brokers connect with `client_protocol` (deploy.local.kafka_security for
    SASL_SSL), controllers with plaintext."""
    replication = min(len(spec.nodes), 3)
    min_isr = 2 if replication == 3 else 1
    client = client_protocol
    listeners = f"{client}://{LOOPBACK}:{node.port},CONTROLLER://{LOOPBACK}:{node.controller_port}"
    props: dict[str, str] = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "listeners": listeners,
        "advertised.listeners": listeners,
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": client,
        "listener.security.protocol.map": f"CONTROLLER:PLAINTEXT,{client}:{client}",
        "log.dirs": str(data_dir),
        "num.partitions": "3",
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": "0",
        "default.replication.factor": str(replication),
        "min.insync.replicas": str(min_isr),
        "offsets.topic.replication.factor": str(replication),
        "transaction.state.log.replication.factor": str(replication),
        "transaction.state.log.min.isr": str(min_isr),
        "share.coordinator.state.topic.replication.factor": str(replication),
        "share.coordinator.state.topic.min.isr": str(min_isr),
        "unclean.leader.election.enable": "false",
    }
    controllers = [f"{n.node_id}@{LOOPBACK}:{n.controller_port}" for n in spec.nodes]
    if len(spec.nodes) == 1:  # dynamic quorum, formatted with --standalone
        props["controller.quorum.bootstrap.servers"] = f"{LOOPBACK}:{node.controller_port}"
    else:  # static quorum, every node formatted with the same voters
        props["controller.quorum.voters"] = ",".join(controllers)
    props.update(overrides)
    return "".join(f"{key}={value}\n" for key, value in props.items())
