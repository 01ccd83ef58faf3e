"""A local Apache Kafka cluster (KRaft, no ZooKeeper) run from Maven Central jars.

The jars come from ``deploy/kafka/pom.xml`` through Maven and are cached under
``~/.cache/fulfil`` (or ``$FULFIL_CACHE``). Every node is a combined broker and
controller. A cluster lives in one directory::

    base_dir/cluster.json            ports, cluster id, node count
    base_dir/node-<id>/server.properties
    base_dir/node-<id>/data/         the log dirs (metadata and topics)
    base_dir/node-<id>/logs/         server.log (INFO)
    base_dir/node-<id>/console.log   the JVM's stdout and stderr (WARN and above)
    base_dir/node-<id>/kafka.pid

Nodes run detached, so a cluster started from the command line outlives it::

    python -m deploy.local.kafka start --dir .local/kafka --nodes 3
    python -m deploy.local.kafka status --dir .local/kafka
    python -m deploy.local.kafka stop --dir .local/kafka
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict, TypeVar

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from deploy.local.kafka_jars import (
    BROKER_JVM_OPTS,
    BROKER_LOG_CONFIG,
    KAFKA_VERSION,
    TOOL_JVM_OPTS,
    TOOLS_LOG_CONFIG,
    classpath,
    ensure_jars,
    java,
    libs_dir,
    run_tool,
)
from deploy.local.kafka_layout import ClusterSpec, NodeSpec, server_properties
from deploy.local.kafka_security import LISTENER, BrokerSecurity
from deploy.local.locks import locked
from deploy.local.ports import LOOPBACK, port_open

__all__ = [
    "KAFKA_VERSION",
    "ClusterSpec",
    "KafkaCluster",
    "NodeSpec",
    "ensure_jars",
    "libs_dir",
    "run_tool",
    "server_properties",
]

POLL_INTERVAL = 0.5

T = TypeVar("T")


# --- processes --------------------------------------------------------------


def _process_alive(pid: int, marker: str) -> bool:
    """True if ``pid`` runs (not a zombie) and its command line contains ``marker``."""
    proc = Path("/proc") / str(pid)
    if Path("/proc/self").exists():
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError):
            return False
        state = stat.rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X") and marker in cmdline
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text[-lines:])


def _run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _brokers_seen_by(port: int, auth: Mapping[str, Any]) -> set[int]:
    """Broker ids in the metadata that the node listening on ``port`` serves."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=f"{LOOPBACK}:{port}", request_timeout_ms=5000, **auth
    )
    try:
        await admin.start()
        info = await admin.describe_cluster()
        return {int(broker["node_id"]) for broker in info["brokers"]}
    except (KafkaError, OSError, TimeoutError):
        return set()
    finally:
        await admin.close()


class NodeStatus(TypedDict):
    pid: int | None
    port: int
    controller_port: int
    alive: bool


class KafkaCluster:
    """A KRaft cluster of ``nodes`` combined broker+controller nodes in ``base_dir``.

    ``nodes`` sizes a new cluster; ``base_dir/cluster.json`` records it, and
    ``start()`` refuses a directory that holds a cluster of another size.
    ``overrides`` are extra broker properties for every node's ``server.properties``
    (rewritten on each start). ``secured`` runs it with SASL_SSL, SCRAM users and ACLs
    (deploy.local.kafka_security, files in ``base_dir/security``); a cluster is formatted
    one way or the other, and ``start()`` refuses to change it.
    """

    def __init__(
        self,
        base_dir: Path,
        nodes: int = 1,
        *,
        overrides: Mapping[str, str] | None = None,
        secured: bool = False,
    ) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        self.base_dir = Path(base_dir).resolve()
        self.nodes = nodes
        self.overrides = dict(overrides or {})
        self.secured = secured
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    # public API

    @property
    def security(self) -> BrokerSecurity:
        """The cluster's certificates and users (made by the first secured start)."""
        return BrokerSecurity(self.base_dir / "security")

    def _client_auth(self) -> dict[str, Any]:
        """How this module's own probes connect: as the admin on a secured cluster."""
        if not self.secured:
            return {}
        from shared.kafka.security import aiokafka_kwargs

        return aiokafka_kwargs(self.security.client())

    @property
    def bootstrap(self) -> str:
        """``"127.0.0.1:p1,127.0.0.1:p2,..."`` (the cluster must have been started once)."""
        return self._spec().bootstrap

    def start(self, timeout: float = 120.0) -> str:
        """Start every node that is not running and wait until all serve metadata.

        Running nodes are reused; dead ones are restarted with their ports and data.
        If the cluster does not come up, the nodes this call launched are stopped again.
        Returns the bootstrap servers.
        """
        deadline = time.monotonic() + timeout
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with locked(self.base_dir / ".lock"):
            spec = self._load_or_create_spec()
            self._prepare_security(spec)
            libs = ensure_jars()
            self._format(spec, libs)
            launched: list[NodeSpec] = []
            try:
                for node in spec.nodes:
                    if self._pid(node) is None:
                        self._launch(spec, node, libs)
                        launched.append(node)
                self._wait_ready(spec, spec.nodes, deadline)
            except BaseException:
                self._terminate(launched, timeout=10.0)
                raise
        return spec.bootstrap

    def start_node(self, node_id: int, timeout: float = 60.0) -> None:
        """(Re)start one node and wait until it serves metadata again."""
        deadline = time.monotonic() + timeout
        spec = self._spec()
        node = self._node(spec, node_id)
        with locked(self.base_dir / ".lock"):
            if self._pid(node) is None:
                self._launch(spec, node, ensure_jars())
            self._wait_ready(spec, [node], deadline)

    def stop_node(self, node_id: int, timeout: float = 30.0) -> None:
        """SIGTERM one node (a controlled shutdown: it hands its leaderships over first),
        SIGKILL after ``timeout``; returns once it is gone."""
        node = self._node(self._spec(), node_id)
        with locked(self.base_dir / ".lock"):
            self._terminate([node], timeout)

    def kill_node(self, node_id: int) -> None:
        """SIGKILL one node (a crash, for fault tests); returns once it is gone."""
        node = self._node(self._spec(), node_id)
        pid = self._pid(node)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            self._wait_exit(node, pid, time.monotonic() + 10)
        self._pid_file(node).unlink(missing_ok=True)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM every node, wait up to ``timeout`` seconds, then SIGKILL the rest."""
        if not (self.base_dir / "cluster.json").exists():
            return
        spec = self._spec()
        with locked(self.base_dir / ".lock"):
            self._terminate(spec.nodes, timeout)

    def status(self) -> dict[int, NodeStatus]:
        """Per node id: pid (None when down), ports and whether the process is alive."""
        if not (self.base_dir / "cluster.json").exists():
            return {}
        result: dict[int, NodeStatus] = {}
        for node in self._spec().nodes:
            pid = self._pid(node)
            result[node.node_id] = NodeStatus(
                pid=pid, port=node.port, controller_port=node.controller_port, alive=pid is not None
            )
        return result

    def is_running(self) -> bool:
        """True when every node's process is alive and its broker port accepts connections."""
        if not (self.base_dir / "cluster.json").exists():
            return False
        return all(
            self._pid(node) is not None and port_open(LOOPBACK, node.port)
            for node in self._spec().nodes
        )

    def log_tail(self, node_id: int, lines: int = 40) -> str:
        """The end of a node's server.log and console.log, for error messages."""
        node_dir = self._node_dir(node_id)
        server_log = _tail(node_dir / "logs" / "server.log", lines)
        console_log = _tail(node_dir / "console.log", lines)
        return (
            f"--- node {node_id} logs/server.log ---\n{server_log}\n"
            f"--- node {node_id} console.log ---\n{console_log}"
        )

    # layout

    def _spec(self) -> ClusterSpec:
        path = self.base_dir / "cluster.json"
        if not path.exists():
            raise RuntimeError(f"no Kafka cluster in {self.base_dir}: start() it first")
        return ClusterSpec.from_json(path.read_text())

    def _load_or_create_spec(self) -> ClusterSpec:
        path = self.base_dir / "cluster.json"
        if path.exists():
            spec = ClusterSpec.from_json(path.read_text())
            if len(spec.nodes) != self.nodes:
                raise ValueError(
                    f"{self.base_dir} holds a {len(spec.nodes)}-node cluster, not {self.nodes}"
                )
            return spec
        spec = ClusterSpec.new(self.nodes)
        path.write_text(spec.to_json())
        return spec

    def _prepare_security(self, spec: ClusterSpec) -> None:
        formatted = any(
            (self._node_dir(n.node_id) / "data" / "meta.properties").exists() for n in spec.nodes
        )
        made_secured = self.security.users_file.exists()
        if formatted and made_secured != self.secured:
            made = "with" if made_secured else "without"
            raise ValueError(
                f"{self.base_dir} holds a cluster formatted {made} security; use another"
                " directory (or remove this one) to change it"
            )
        if self.secured:
            self.security.prepare()

    def _node(self, spec: ClusterSpec, node_id: int) -> NodeSpec:
        for node in spec.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(f"no node {node_id} in {self.base_dir}")

    def _node_dir(self, node_id: int) -> Path:
        return self.base_dir / f"node-{node_id}"

    def _properties_file(self, node: NodeSpec) -> Path:
        return self._node_dir(node.node_id) / "server.properties"

    def _pid_file(self, node: NodeSpec) -> Path:
        return self._node_dir(node.node_id) / "kafka.pid"

    def _write_properties(self, spec: ClusterSpec, node: NodeSpec) -> Path:
        node_dir = self._node_dir(node.node_id)
        (node_dir / "data").mkdir(parents=True, exist_ok=True)
        (node_dir / "logs").mkdir(exist_ok=True)
        path = self._properties_file(node)
        overrides, protocol = self.overrides, "PLAINTEXT"
        if self.secured:
            overrides, protocol = {**self.security.broker_properties(), **overrides}, LISTENER
        path.write_text(server_properties(spec, node, node_dir / "data", overrides, protocol))
        return path

    # processes

    def _pid(self, node: NodeSpec) -> int | None:
        """The node's pid if that process is alive, else None."""
        child = self._children.get(node.node_id)
        if child is not None:
            if child.poll() is None:  # ours and running (maybe not yet exec'd into java)
                return child.pid
            del self._children[node.node_id]  # reaped: no zombie left behind
        try:
            pid = int(self._pid_file(node).read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _process_alive(pid, str(self._properties_file(node))) else None

    def _format(self, spec: ClusterSpec, libs: Path) -> None:
        """Format the storage of nodes that have never been formatted (in parallel)."""
        jobs: list[tuple[NodeSpec, subprocess.Popen[str]]] = []
        for node in spec.nodes:
            props = self._write_properties(spec, node)
            if (self._node_dir(node.node_id) / "data" / "meta.properties").exists():
                continue
            cmd = [
                java(), *TOOL_JVM_OPTS, f"-Dlog4j2.configurationFile={TOOLS_LOG_CONFIG}",
                "-cp", classpath(libs), "kafka.tools.StorageTool", "format",
                "--cluster-id", spec.cluster_id, "--config", str(props), "--ignore-formatted",
            ]  # fmt: skip
            if len(spec.nodes) == 1:
                cmd.append("--standalone")
            if self.secured:
                cmd += self.security.format_args()
            popen = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            jobs.append((node, popen))
        for node, popen in jobs:
            output, _ = popen.communicate(timeout=120)
            if popen.returncode != 0:
                raise RuntimeError(f"formatting node {node.node_id} failed:\n{output}")

    def _launch(self, spec: ClusterSpec, node: NodeSpec, libs: Path) -> None:
        node_dir = self._node_dir(node.node_id)
        props = self._write_properties(spec, node)
        cmd = [
            java(), *BROKER_JVM_OPTS,
            f"-Dkafka.logs.dir={node_dir / 'logs'}",
            f"-Dlog4j2.configurationFile={BROKER_LOG_CONFIG}",
            "-cp", classpath(libs), "kafka.Kafka", str(props),
        ]  # fmt: skip
        with (node_dir / "console.log").open("ab") as console:
            child = subprocess.Popen(
                cmd,
                cwd=node_dir,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives Ctrl-C and the end of this process
            )
        self._children[node.node_id] = child
        self._pid_file(node).write_text(f"{child.pid}\n")

    def _terminate(self, nodes: Sequence[NodeSpec], timeout: float) -> None:
        """SIGTERM ``nodes``, SIGKILL those still running after ``timeout`` (lock held)."""
        running = {node: pid for node in nodes if (pid := self._pid(node)) is not None}
        for pid in running.values():
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for node, pid in running.items():
            if not self._wait_exit(node, pid, deadline):
                os.kill(pid, signal.SIGKILL)
                self._wait_exit(node, pid, time.monotonic() + 10)
        for node in nodes:
            self._pid_file(node).unlink(missing_ok=True)

    def _wait_exit(self, node: NodeSpec, pid: int, deadline: float) -> bool:
        """Wait until ``pid`` is gone; False if it still runs at ``deadline``."""
        child = self._children.get(node.node_id)
        if child is not None and child.pid == pid:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                return False
            del self._children[node.node_id]
            return True
        while _process_alive(pid, str(self._properties_file(node))):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def _wait_ready(self, spec: ClusterSpec, nodes: Sequence[NodeSpec], deadline: float) -> None:
        """Poll until each of ``nodes`` serves metadata listing every live node."""
        pending = list(nodes)
        while pending:
            alive = {n.node_id for n in spec.nodes if self._pid(n) is not None}
            for node in list(pending):
                if node.node_id not in alive:
                    tail = self.log_tail(node.node_id)
                    raise RuntimeError(f"Kafka node {node.node_id} exited during start-up\n{tail}")
                if port_open(LOOPBACK, node.port) and alive <= _run_async(
                    _brokers_seen_by(node.port, self._client_auth())
                ):
                    pending.remove(node)
            if pending and time.monotonic() > deadline:
                tails = "\n".join(self.log_tail(node.node_id) for node in pending)
                ids = [node.node_id for node in pending]
                raise TimeoutError(
                    f"Kafka node(s) {ids} in {self.base_dir} not ready in time\n{tails}"
                )
            if pending:
                time.sleep(POLL_INTERVAL)


# --- command line -----------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local.kafka", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--dir", type=Path, default=Path(".local/kafka"), help="cluster directory")
    parser.add_argument("--nodes", type=int, help="node count of a new cluster (default 1)")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for start/stop"
    )
    args = parser.parse_args(argv)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # refused probes while starting

    spec_file = args.dir / "cluster.json"
    existing = (
        len(ClusterSpec.from_json(spec_file.read_text()).nodes) if spec_file.exists() else None
    )
    cluster = KafkaCluster(args.dir, nodes=args.nodes or existing or 1)
    if args.command == "start":
        print(cluster.start(timeout=args.timeout))
    elif args.command == "stop":
        cluster.stop(timeout=args.timeout)
    else:
        status = cluster.status()
        body = {"bootstrap": cluster.bootstrap if status else None, "nodes": status}
        print(json.dumps(body, indent=2))
        return 0 if cluster.is_running() else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
