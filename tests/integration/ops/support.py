"""Driving the `fulfil` command as an operator does: a process of its own, on the test stack."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.runtime import Runtime
from tests.support.infra import Infra
from tests.support.services import base_url

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def env_for(infra: Infra, *services: Runtime, actor: str = "ana") -> dict[str, str]:
    """The command's configuration for the test stack: its broker and these services."""
    env = {
        **os.environ,
        "FULFIL_KAFKA_BOOTSTRAP": infra.bootstrap,
        "FULFIL_OPS_API_KEY": "dev-ops-key",
        "FULFIL_ACTOR": actor,
        "COLUMNS": "200",
    }
    for runtime in services:
        env[f"FULFIL_{runtime.name.upper()}_URL"] = base_url(runtime)
    return env


async def fulfil(env: dict[str, str], *args: str, timeout: float = 60) -> Run:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fulfil",
        *args,
        env=env,
        cwd=ROOT,  # this checkout's code, wherever pytest was started
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())
