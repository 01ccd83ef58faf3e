"""The five services as real processes started the way production starts them: `ENV=production`
for all, every secret read from a file (`<NAME>_FILE`, as Kubernetes mounts them), on the
tests' broker with fresh databases. What each service needs beyond that (its providers,
their addresses and keys) is the caller's."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.local.ports import free_ports
from deploy.local.stack import SERVICES, Stack, wait_ready
from shared.settings import env_prefix
from tests.support.infra import REPO, Infra
from tests.support.services import skip_backlog

# what every service reads as a secret in production
COMMON_SECRETS = ("shop_api_key", "ops_api_key", "order_token_secret")


def strong(name: str) -> str:
    """A secret production accepts: long, random, no development placeholder."""
    return f"{name.replace('_', '-')}-{secrets.token_urlsafe(24)}"


@dataclass
class ProductionSystem:
    """Where the services listen (known before they start: providers need the addresses),
    the secrets they share, and the stack that runs their processes."""

    base: Path
    ports: dict[str, int] = field(default_factory=dict)
    common: dict[str, str] = field(default_factory=dict)
    stack: Stack | None = None
    databases: dict[str, str] = field(default_factory=dict)

    @classmethod
    def planned(cls) -> ProductionSystem:
        base = REPO / ".local" / "test" / f"production-{uuid.uuid4().hex[:8]}"
        ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
        return cls(base, ports, {name: strong(name) for name in COMMON_SECRETS})

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def state(self) -> dict[str, Any]:
        """What `deploy.demo.shop.Edges.from_stack` reads."""
        return {
            "services": {name: {"url": self.url(name)} for name in SERVICES},
            "credentials": {k: self.common[k] for k in ("shop_api_key", "ops_api_key")},
        }

    def secret_file(self, name: str, value: str) -> str:
        path = self.base / "secrets" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")  # a mounted secret often ends in a newline
        path.chmod(0o600)
        return str(path)

    def env(
        self,
        service: str,
        bootstrap: str,
        database: str,
        suffix: str,
        plain: Mapping[str, str],
        hidden: Mapping[str, str],
    ) -> dict[str, str]:
        """The process environment of one service: `ENV=production`, its plain settings
        (`plain`, names without the prefix) and every secret as `<PREFIX><NAME>_FILE`."""
        prefix = env_prefix(service)
        prefixes = (*(env_prefix(s) for s in SERVICES), "FULFIL_", "ENV")
        env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
        env |= {
            "PYTHONPATH": str(REPO),
            "ENV": "production",
            f"{prefix}KAFKA_BOOTSTRAP": bootstrap,
            f"{prefix}HTTP_HOST": "127.0.0.1",
            f"{prefix}HTTP_PORT": str(self.ports[service]),
            f"{prefix}CONSUMER_GROUP_SUFFIX": suffix,
            f"{prefix}CONSUMER_INSTANCE_ID": f"{service}-1",
            f"{prefix}PUBLIC_BASE_URL": self.url(service),
            f"{prefix}LOG_FORMAT": "json",
        }
        env.update({f"{prefix}{k.upper()}": v for k, v in plain.items()})
        secret_values = {"database_url": database, **self.common, **hidden}
        for name, value in secret_values.items():
            file_name = f"{service}-{name}"
            env[f"{prefix}{name.upper()}_FILE"] = self.secret_file(file_name, value)
        return env

    async def start(
        self,
        infra: Infra,
        plain: Mapping[str, Mapping[str, str]],
        hidden: Mapping[str, Mapping[str, str]],
        timeout: float = 120.0,
    ) -> None:
        """Starts the five services, each on a fresh database, from the topics' end."""
        suffix = f"-prod-{uuid.uuid4().hex[:8]}"
        databases = {name: await infra.create_database(f"prod_{name}") for name in SERVICES}
        for name in SERVICES:
            await skip_backlog(infra.bootstrap, name, suffix)
        self.stack = stack = Stack(self.base)
        for name in SERVICES:
            env = self.env(name, infra.bootstrap, databases[name], suffix,
                           plain.get(name, {}), hidden.get(name, {}))  # fmt: skip
            stack.start_service(name, env, self.ports[name])
        for name in SERVICES:
            log = self.base / "logs" / f"{name}.log"
            await asyncio.to_thread(wait_ready, self.url(name), name, log, timeout)
        self.databases = databases

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.stop_processes()


def as_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
