"""stripe-mock, Stripe's own mock of its API, for the tests: built once, started on a free port.

`go install` builds the pinned version into ``<cache>/go/bin`` (``$FULFIL_CACHE`` or
``~/.cache/fulfil``) the first time; it then answers every documented endpoint of the API
with Stripe's fixtures, validating the parameters as Stripe does. It is stateless: what a
call created is not found by the next one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from deploy.local.kafka_jars import default_cache_dir
from deploy.local.locks import locked
from deploy.local.ports import LOOPBACK, free_ports

VERSION = "v0.203.0"
MODULE = "github.com/stripe/stripe-mock"
TEST_KEY = "sk_test_" + "0" * 24  # stripe-mock takes any key of the right shape


def bin_dir(cache_dir: Path | None = None) -> Path:
    return (cache_dir or default_cache_dir()) / "go" / "bin"


def ensure_binary(cache_dir: Path | None = None) -> Path:
    """The stripe-mock program, built with `go install` when missing (a few seconds once)."""
    target = bin_dir(cache_dir)
    program, marker = target / "stripe-mock", target / f"stripe-mock.{VERSION}"
    if program.exists() and marker.exists():
        return program
    target.mkdir(parents=True, exist_ok=True)
    with locked(target / ".stripe-mock.lock"):
        if program.exists() and marker.exists():  # another process built it meanwhile
            return program
        go = shutil.which("go") or "/usr/local/go/bin/go"
        if not Path(go).exists():
            raise RuntimeError("`go` (1.22 or newer) is not on PATH: it builds stripe-mock")
        env = {**os.environ, "GOBIN": str(target)}
        cmd = [go, "install", f"{MODULE}@{VERSION}"]
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"building stripe-mock failed:\n{result.stdout}{result.stderr}")
        for old in target.glob("stripe-mock.v*"):
            old.unlink()
        marker.write_text(VERSION + "\n")
    return program


@dataclass
class StripeMock:
    """A running stripe-mock; `api_base` is what the stripe client is pointed at."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def api_base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(log_path: Path, *, timeout: float = 30.0) -> StripeMock:
    """Starts stripe-mock on free loopback ports and waits until it answers; the tests speak
    HTTP to it (its HTTPS listener gets a port of its own, never the shared default)."""
    program = ensure_binary()
    port, https_port = free_ports(2)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        cmd = [
            str(program),
            *("-http-addr", f"{LOOPBACK}:{port}"),
            *("-https-addr", f"{LOOPBACK}:{https_port}"),
        ]
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    mock = StripeMock(process, port)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"stripe-mock exited with {process.returncode}; see {log_path}")
        try:
            auth = (TEST_KEY, "")
            if httpx.get(f"{mock.api_base}/v1/balance", auth=auth, timeout=1).status_code < 500:
                return mock
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            mock.stop()
            raise RuntimeError(f"stripe-mock did not answer within {timeout}s; see {log_path}")
        time.sleep(0.1)
