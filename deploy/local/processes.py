"""The local stack's processes: each started detached with its pid in `<dir>/run/<name>.pid`
and its output in `<dir>/logs/<name>.log`, found again by that file (and its command line),
stopped with SIGTERM and, after `timeout`, SIGKILL.

A service runs as one or more instances (`--replicas`): the first is named like the
service (`order`), the others `order-2`, `order-3`..., each its own process and port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from deploy.local.ports import port_open

REPO = Path(__file__).resolve().parents[2]
# longer than a service's own stop (shared.stopping: SHUTDOWN_GRACE_SECONDS, 25 s by default)
STOP_TIMEOUT_SECONDS = 40.0


def instance_name(service: str, index: int) -> str:
    """The process name of a service's `index`th instance (from 1)."""
    return service if index == 1 else f"{service}-{index}"


def service_of(name: str, services: tuple[str, ...]) -> str:
    """The service an instance name belongs to (`order-2` -> `order`)."""
    head, _, tail = name.rpartition("-")
    return head if head in services and tail.isdigit() else name


class Processes:
    """What `base` runs; `modules` maps a service (or the sinks) to its `python -m` module."""

    base: Path
    modules: dict[str, str]
    services: tuple[str, ...]
    sinks: str
    replicas: int | None

    def module_of(self, name: str) -> str:
        return self.modules[service_of(name, tuple(self.modules))]

    def pid_file(self, name: str) -> Path:
        return self.base / "run" / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.base / "logs" / f"{name}.log"

    def instances(self, service: str) -> list[str]:
        """The names of the service's instances that have a pid file, the first first."""
        run = self.base / "run"
        found = [p.stem for p in run.glob(f"{service}-*.pid")] if run.exists() else []
        extra = sorted((n for n in found if service_of(n, (service,)) == service), key=_index)
        return [service, *extra]

    def wanted_names(self) -> list[str]:
        count = range(1, (self.replicas or 1) + 1)
        return [instance_name(service, i) for service in self.services for i in count]

    def instance_names(self) -> list[str]:
        """Every service instance this stack is to run, or runs or ran (pid files)."""
        ran = [name for service in self.services for name in self.instances(service)]
        return list(dict.fromkeys([*self.wanted_names(), *ran]))

    def stop_beyond_replicas(self) -> None:
        """A smaller `replicas` than what runs stops the last instances (scaling down)."""
        keep = set(self.wanted_names())
        for name in [n for service in self.services for n in self.instances(service)]:
            if name not in keep:
                self.stop_service(name)

    def stop_processes(self) -> None:
        """Stops every instance at once (each its own stop sequence), then the sinks."""
        names = [n for service in self.services for n in self.instances(service)]
        with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
            list(pool.map(self.stop_service, names))
        self.stop_service(self.sinks)

    def running_pid(self, name: str) -> int | None:
        try:
            pid = int(self.pid_file(name).read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists() and self.module_of(name).encode() not in cmdline.read_bytes():
            return None
        return pid

    def start_service(
        self, name: str, env: dict[str, str], port: int, args: tuple[str, ...] = ()
    ) -> int:
        pid = self.running_pid(name)
        if pid is not None:
            return pid
        self.log_file(name).parent.mkdir(parents=True, exist_ok=True)
        self.pid_file(name).parent.mkdir(parents=True, exist_ok=True)
        log = self.log_file(name).open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", self.module_of(name), *args],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid_file(name).write_text(str(process.pid))
        return process.pid

    def stop_service(self, name: str, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        pid = self.running_pid(name)
        if pid is None:
            self.pid_file(name).unlink(missing_ok=True)
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running_pid(name) is not None:
            time.sleep(0.1)
        if self.running_pid(name) is not None:
            os.kill(pid, signal.SIGKILL)
        self.pid_file(name).unlink(missing_ok=True)


def _index(name: str) -> int:
    return int(name.rpartition("-")[2])


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def wait_listening(port: int, name: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open("127.0.0.1", port):
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise RuntimeError(f"{name} not listening on {port} after {timeout:.0f}s; log tail:\n{tail}")


def wait_ready(url: str, name: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready(url):
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise RuntimeError(f"{name} not ready at {url} after {timeout:.0f}s; log tail:\n{tail}")
