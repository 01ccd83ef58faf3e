"""stripe-mock, Stripe's own mock of its API, for the tests: built once, started on a free port.

`go install` builds the pinned version into ``<cache>/go/bin`` (``$FULFIL_CACHE`` or
``~/.cache/fulfil``) the first time; it then answers every documented endpoint of the API
with Stripe's fixtures, validating the parameters as Stripe does. It is stateless: what a
call created is not found by the next one.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from deploy.local.go_tools import go_install
from deploy.local.ports import LOOPBACK, free_ports

VERSION = "v0.203.0"
MODULE = "github.com/stripe/stripe-mock"
TEST_KEY = "sk_test_" + "0" * 24  # stripe-mock takes any key of the right shape


def ensure_binary(cache_dir: Path | None = None) -> Path:
    """The stripe-mock program, built with `go install` when missing (a few seconds once)."""
    return go_install("stripe-mock", MODULE, VERSION, cache_dir)


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
