"""The whole system on this machine, no Docker: broker, database, topics and the five services.

    python -m deploy.local.stack up       # provision and start, reuse what runs
    python -m deploy.local.stack status   # what runs where
    python -m deploy.local.stack down     # stop everything

`up` writes `<dir>/stack.json` with the broker's bootstrap address, each
database's DSN, each service's base URL, Prometheus's URL and the development
credentials, so tools and tests can drive the running system. Both `up` and `down` are
idempotent: a second `up` reuses what is there. An `up` that fails stops again
what it started, so nothing is left running that nobody knows about. A Prometheus
(deploy/local/prometheus.py) scrapes the five services every 15 s (or
`FULFIL_PROMETHEUS_SCRAPE_INTERVAL`) and evaluates deploy/monitoring/rules/.

`FULFIL_KAFKA_SECURITY=sasl_ssl` (or `--kafka-security sasl_ssl`, or `make up
FULFIL_KAFKA_SECURITY=sasl_ssl`) runs the broker secured (deploy/local/kafka_security.py):
each service connects as its own SCRAM user over TLS, given its password and the CA in
its environment, and may do only what the ACLs generated from the registry allow. A
stack made secured stays so.

`--replicas N` (`make up REPLICAS=3`, or `FULFIL_REPLICAS`) runs N instances of each
service, each its own process and port (deploy/local/processes.py names them), in the
service's consumer groups under its own static member name (`<SVC>_CONSUMER_INSTANCE_ID`
`<service>-<n>`). `stack.json` lists every instance under `services.<name>.instances`;
`services.<name>.url` is the first's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.local.kafka import KafkaCluster
from deploy.local.kafka_security import ADMIN, BrokerSecurity
from deploy.local.ports import free_port
from deploy.local.postgres import PostgresCluster, ensure_installed
from deploy.local.processes import (
    REPO,
    Processes,
    instance_name,
    ready,
    wait_listening,
    wait_ready,
)
from deploy.local.prometheus import DEFAULT_SCRAPE_INTERVAL, Prometheus
from deploy.local.web import WEB, page_url, web_env

SERVICES = ("order", "payment", "logistics", "notify", "returns")
# The notify sinks: a real SMTP server and an HTTP SMS gateway that keep what they receive.
SINKS = "sinks"
MODULES = {
    **{name: f"services.{name}" for name in SERVICES},
    SINKS: "deploy.local.sinks",
    WEB: "web",
}
DEFAULT_DIR = REPO / ".local"

# Which development secrets each service is given (beyond the shop and ops keys).
SERVICE_SECRETS = {
    "payment": ("webhook_secret",),
    "logistics": ("carrier_webhook_secret",),
    WEB: ("csrf_secret",),
}
SECRET_NAMES = tuple(sorted({s for names in SERVICE_SECRETS.values() for s in names}))
KAFKA_SECURITY_ENV = "FULFIL_KAFKA_SECURITY"
KAFKA_SECURITY_CHOICES = ("plaintext", "sasl_ssl")
REPLICAS_ENV = "FULFIL_REPLICAS"


@dataclass
class Stack(Processes):
    """`secured`: the broker runs with SASL_SSL and ACLs; None reads `FULFIL_KAFKA_SECURITY`,
    and without it keeps what the stack's broker was made with. `replicas`: instances of
    each service (None reads `FULFIL_REPLICAS`, else 1)."""

    base: Path
    nodes: int = 1
    secured: bool | None = None
    replicas: int | None = None
    modules: dict[str, str] = field(default_factory=lambda: dict(MODULES))
    services: tuple[str, ...] = SERVICES
    sinks: str = SINKS

    def __post_init__(self) -> None:
        if self.replicas is None:
            self.replicas = int(os.environ.get(REPLICAS_ENV) or 1)
        if self.replicas < 1:
            raise ValueError(f"replicas: {self.replicas}; at least 1")
        if self.secured is None:
            chosen = os.environ.get(KAFKA_SECURITY_ENV, "").lower()
            if chosen and chosen not in KAFKA_SECURITY_CHOICES:
                raise ValueError(
                    f"{KAFKA_SECURITY_ENV}={chosen!r}: expected one of plaintext, sasl_ssl"
                )
            made = self.broker_security.users_file.exists()
            self.secured = chosen == "sasl_ssl" if chosen else made

    @property
    def file(self) -> Path:
        return self.base / "stack.json"

    @property
    def broker_security(self) -> BrokerSecurity:
        return BrokerSecurity(self.base / "kafka" / "security")

    @property
    def kafka(self) -> KafkaCluster:
        return KafkaCluster(self.base / "kafka", nodes=self.nodes, secured=bool(self.secured))

    @property
    def postgres(self) -> PostgresCluster:
        return PostgresCluster(self.base / "postgres")

    @property
    def prometheus(self) -> Prometheus:
        return Prometheus(self.base / "prometheus")

    def load(self) -> dict[str, Any]:
        return json.loads(self.file.read_text()) if self.file.exists() else {}

    def credentials(self, previous: dict[str, Any]) -> dict[str, str]:
        creds = dict(previous.get("credentials", {}))
        names = ("shop_api_key", "ops_api_key", "order_token_secret", *SECRET_NAMES)
        for name in names:
            creds.setdefault(name, f"dev-{name.replace('_', '-')}-{secrets.token_hex(8)}")
        return creds

    def up(
        self,
        extra_env: dict[str, str] | None = None,
        timeout: float = 120.0,
        *,
        restart: bool = False,
    ) -> dict[str, Any]:
        """Provisions and starts everything; `restart` applies new settings to running services.

        If a step fails, what this call started is stopped again (in reverse order)."""
        previous = self.load()
        self.base.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as undo:
            kafka, pg = self.kafka, self.postgres
            print("kafka: starting", flush=True)
            kafka_was_running = kafka.is_running()
            bootstrap = kafka.start()
            if not kafka_was_running:
                undo.callback(kafka.stop)
            print(f"kafka: {bootstrap}", flush=True)
            ensure_installed()
            pg_was_running = pg.is_running()
            pg.start()
            if not pg_was_running:
                undo.callback(pg.stop)
            databases = {name: pg.create_database(name) for name in SERVICES}
            print(f"postgres: {pg.dsn('postgres')}", flush=True)
            self.provision_topics(bootstrap)
            if restart:
                self.stop_processes()
            for name in (*self.instance_names(), SINKS, WEB):
                if self.running_pid(name) is None:
                    undo.callback(self.stop_service, name)
            state = self.start_processes(
                bootstrap, databases, self.credentials(previous), extra_env or {}, timeout, previous
            )
            self.stop_beyond_replicas()
            if self.prometheus.pid() is None:
                undo.callback(self.prometheus.stop)
            state["prometheus"] = self.start_prometheus(state["services"])
            self.file.write_text(json.dumps(state, indent=2))
            undo.pop_all()
        return state

    def provision_topics(self, bootstrap: str) -> None:
        """The registry's topics and, on a secured broker, the services' ACLs (as admin)."""
        from shared.kafka.acls import apply_acls
        from shared.kafka.admin import ensure_topics
        from shared.kafka.security import PLAINTEXT

        admin = self.broker_security.client(ADMIN) if self.secured else PLAINTEXT
        created = asyncio.run(ensure_topics(bootstrap, security=admin))
        print(f"topics: {len(created)} created", flush=True)
        if self.secured:
            applied = asyncio.run(apply_acls(bootstrap, admin))
            print(f"acls: {applied} applied (python -m shared.kafka.acls --print)", flush=True)

    def kafka_state(self) -> dict[str, Any]:
        """How tools connect to the stack's broker (recorded in stack.json)."""
        if not self.secured:
            return {"security_protocol": "PLAINTEXT"}
        security = self.broker_security
        return {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "ca_file": str(security.ca_file),
            "users_file": str(security.users_file),
        }

    def start_processes(
        self,
        bootstrap: str,
        databases: dict[str, str],
        creds: dict[str, str],
        extra_env: dict[str, str],
        timeout: float = 120.0,
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Starts the notify sinks and the five services against a broker and databases."""
        ports = dict((previous or {}).get("ports", {}))
        for name in (*self.instance_names(), "smtp", SINKS, WEB):
            ports.setdefault(name, free_port())
        sinks_dir = self.base / "sinks"
        sinks = (str(sinks_dir),)
        self.start_service(
            SINKS,
            {**os.environ, "PYTHONPATH": str(REPO)},
            ports[SINKS],
            ("--smtp-port", str(ports["smtp"]), "--http-port", str(ports[SINKS]), "--dir", *sinks),
        )
        sink_env = {
            "NOTIFY_SMTP_HOST": "127.0.0.1",
            "NOTIFY_SMTP_PORT": str(ports["smtp"]),
            "NOTIFY_SMS_GATEWAY_URL": f"http://127.0.0.1:{ports[SINKS]}/sms",
            "NOTIFY_ORDER_PAGE_URL": page_url(ports[WEB]),  # the links in every message
        }
        services: dict[str, Any] = {}
        for name in SERVICES:
            instances = []
            for index in range(1, int(self.replicas or 1) + 1):
                instance = instance_name(name, index)
                port = ports[instance]
                env = self.service_env(
                    name, bootstrap, databases[name], port, creds, {**sink_env, **extra_env}
                )
                env[f"{name.upper()}_CONSUMER_INSTANCE_ID"] = f"{name}-{index}"
                if (self.replicas or 1) > 1:  # the links a service hands out (checkout,
                    # pay-for-me) lead to its first instance (no load balancer here)
                    env[f"{name.upper()}_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{ports[name]}"
                env.update(extra_env)  # a test's own names win
                pid = self.start_service(instance, env, port)
                url = f"http://127.0.0.1:{port}"
                instances.append({"name": instance, "url": url, "port": port, "pid": pid})
            services[name] = {**{k: instances[0][k] for k in ("url", "port", "pid")}}
            services[name]["instances"] = instances
        wait_listening(ports[SINKS], SINKS, self.log_file(SINKS), timeout)
        for name in SERVICES:
            for instance in services[name]["instances"]:
                log = self.log_file(instance["name"])
                wait_ready(instance["url"], instance["name"], log, timeout)
                print(f"{instance['name']}: ready at {instance['url']}", flush=True)
        web = {"url": page_url(ports[WEB]), "port": ports[WEB]}
        web["pid"] = self.start_service(
            WEB, web_env(REPO, ports[WEB], services, creds, bootstrap), ports[WEB]
        )
        wait_ready(str(web["url"]), WEB, self.base / "logs" / f"{WEB}.log", timeout)
        print(f"{WEB}: ready at {web['url']}", flush=True)
        return {
            "web": web,
            "bootstrap": bootstrap,
            "kafka": self.kafka_state(),
            "databases": databases,
            "services": services,
            "sinks": {
                "smtp": f"127.0.0.1:{ports['smtp']}",
                "messages_url": f"http://127.0.0.1:{ports[SINKS]}/messages",
                "dir": str(sinks_dir),
            },
            "ports": ports,
            "credentials": creds,
            "replicas": self.replicas,
        }

    def start_prometheus(self, services: dict[str, Any]) -> dict[str, Any]:
        """Prometheus scraping each service as the job of its name; where it answers."""
        interval = os.environ.get("FULFIL_PROMETHEUS_SCRAPE_INTERVAL", DEFAULT_SCRAPE_INTERVAL)
        targets = {
            name: [f"127.0.0.1:{i['port']}" for i in svc.get("instances", [svc])]
            for name, svc in services.items()
        }
        url = self.prometheus.start(targets, scrape_interval=interval)
        print(f"prometheus: {url}", flush=True)
        return {"url": url, "scrape_interval": interval}

    def service_env(
        self,
        name: str,
        bootstrap: str,
        dsn: str,
        port: int,
        creds: dict[str, str],
        extra: dict[str, str],
    ) -> dict[str, str]:
        from shared.settings import service_env

        values: dict[str, object] = {
            "env": "development",
            "kafka_bootstrap": bootstrap,
            "database_url": dsn,
            "http_host": "127.0.0.1",
            "http_port": port,
            "shop_api_key": creds["shop_api_key"],
            "ops_api_key": creds["ops_api_key"],
            "order_token_secret": creds["order_token_secret"],
            # the same name across restarts (start_processes names each instance): static
            # group membership, so a restarted instance takes its partitions back at once
            "consumer_instance_id": f"{name}-1",
        }
        for secret in SERVICE_SECRETS.get(name, ()):
            values[secret] = creds[secret]
        if self.secured:  # the service's own principal, which the ACLs name
            security = self.broker_security.client(name)
            values["kafka_security_protocol"] = security.protocol
            values["kafka_sasl_mechanism"] = security.sasl_mechanism
            values["kafka_sasl_username"] = name
            values["kafka_sasl_password"] = self.broker_security.password(name)
            values["kafka_ssl_ca_file"] = security.ca_file
        env = dict(os.environ)
        env.update(service_env(name, **values))
        env.update(extra)
        env["PYTHONPATH"] = str(REPO)
        return env

    def stop_processes(self) -> None:
        """The order page first (it calls the services), then the services and the sinks."""
        self.stop_service(WEB)
        super().stop_processes()

    def down(self) -> None:
        self.stop_processes()
        print("services: stopped", flush=True)
        if (self.base / "prometheus").exists():
            self.prometheus.stop()
            print("prometheus: stopped", flush=True)
        if (self.base / "kafka").exists():
            self.kafka.stop()
            print("kafka: stopped", flush=True)
        if (self.base / "postgres").exists():
            self.postgres.stop()
            print("postgres: stopped", flush=True)

    def status(self) -> dict[str, Any]:
        state = self.load()
        services: dict[str, list[dict[str, Any]]] = {}
        known = {
            i["name"]: i
            for svc in state.get("services", {}).values()
            for i in svc.get("instances", [])
        }
        for name in SERVICES:
            services[name] = []
            for instance in self.instances(name):
                url = known.get(instance, {}).get("url") or state.get("services", {}).get(
                    instance, {}
                ).get("url")
                pid = self.running_pid(instance)
                up = bool(pid and url and ready(url))
                services[name].append({"name": instance, "pid": pid, "url": url, "ready": up})
        return {
            "kafka": self.kafka.status() if (self.base / "kafka").exists() else "not provisioned",
            "postgres": self.postgres.status()
            if (self.base / "postgres").exists()
            else "not provisioned",
            "services": services,
            "sinks": {"pid": self.running_pid(SINKS), **state.get("sinks", {})},
            "web": {"pid": self.running_pid(WEB), **state.get("web", {})},
            "prometheus": self.prometheus.status(),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--nodes", type=int, default=1, choices=(1, 3))
    parser.add_argument(
        "--replicas", type=int, help=f"instances of each service (default: ${REPLICAS_ENV} or 1)"
    )
    parser.add_argument(
        "--restart", action="store_true", help="restart running services (new settings)"
    )
    parser.add_argument(
        "--kafka-security",
        choices=KAFKA_SECURITY_CHOICES,
        help=f"how the broker runs (default: ${KAFKA_SECURITY_ENV}, else as it was made)",
    )
    args = parser.parse_args(argv)
    secured = None if args.kafka_security is None else args.kafka_security == "sasl_ssl"
    stack = Stack(args.dir, nodes=args.nodes, secured=secured, replicas=args.replicas)
    if args.command == "up":
        state = stack.up(restart=args.restart)
        print(f"stack: up; details in {stack.file}")
        for svc in state["services"].values():
            for instance in svc["instances"]:
                print(f"  {instance['name']:<12} {instance['url']}")
        print(f"  {WEB:<12} {state['web']['url']}")
        print(f"  {'prometheus':<12} {state['prometheus']['url']}")
    elif args.command == "down":
        stack.down()
    else:
        print(json.dumps(stack.status(), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
