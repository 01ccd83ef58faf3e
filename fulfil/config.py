"""Where the command finds the broker and the services, from flags or the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import click

from shared.contracts.registry import SERVICES

DEFAULT_PORTS = {"order": 8001, "payment": 8002, "logistics": 8003, "notify": 8004, "returns": 8005}


class OpsError(click.ClickException):
    """A refusal the command reports on one line (`Error: ...`), exiting with status 1."""


@dataclass(frozen=True)
class Config:
    bootstrap: str
    ops_key: str
    actor: str
    group_suffix: str = ""
    # the services' URLs when a caller knows them (the console's settings), else from the
    # environment
    urls: Mapping[str, str] = field(default_factory=dict)

    def service_url(self, service: str) -> str:
        if service not in SERVICES:
            raise OpsError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
        if service in self.urls:
            return self.urls[service].rstrip("/")
        default = f"http://127.0.0.1:{DEFAULT_PORTS[service]}"
        return os.environ.get(f"FULFIL_{service.upper()}_URL", default).rstrip("/")
