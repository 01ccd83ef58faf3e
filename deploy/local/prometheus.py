"""A local Prometheus from Debian's `prometheus` package, scraping the local stack.

    base_dir/prometheus.json    the port, scrape interval and targets it was started with
    base_dir/prometheus.yml     the generated configuration (JSON, which YAML reads)
    base_dir/data/              its own TSDB
    base_dir/prometheus.log     what it prints
    base_dir/prometheus.pid     its process

Each service of the stack is one scrape job named after it (`job="payment"`), and the
alert and recording rules are `deploy/monitoring/rules/*.yml`. It listens on 127.0.0.1
only, on a port picked once and kept. The default scrape interval is 15 s, so an idle
stack costs little; tests pass a shorter one.

    python -m deploy.local.prometheus promtool   # where promtool is (installing it)
    python -m deploy.local.prometheus status --dir .local/prometheus
    python -m deploy.local.prometheus stop --dir .local/prometheus
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from deploy.local.locks import locked
from deploy.local.ports import LOOPBACK, free_port, port_open

PACKAGE = "prometheus"
REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "monitoring" / "rules"
DEFAULT_RULE_FILES = (RULES / "*.yml",)
DEFAULT_SCRAPE_INTERVAL = "15s"
POLICY_RC = Path("/usr/sbin/policy-rc.d")
SYSTEMD = Path("/run/systemd/system")  # present when systemd runs the machine
INSTALL_LOCK = Path("/var/tmp/fulfil-apt.lock")
POLL_INTERVAL = 0.2


# --- installation -------------------------------------------------------------


def find_binary(name: str) -> Path | None:
    """`name` (prometheus or promtool) on PATH or in /usr/bin, else None."""
    found = shutil.which(name)
    if found:
        return Path(found)
    candidate = Path("/usr/bin") / name
    return candidate if os.access(candidate, os.X_OK) else None


def ensure_installed() -> tuple[Path, Path]:
    """The prometheus and promtool programs, installing Debian's package first if root.

    Installing never starts the package's own daemon (on 9090, colliding with other
    checkouts): a `policy-rc.d` that refuses every start is in place while the package is
    unpacked, the way Debian lets an installer say "configure, do not start", and where
    systemd runs the machine the unit is disabled, so it does not start at the next boot."""
    found = find_binary("prometheus"), find_binary("promtool")
    if found[0] is not None and found[1] is not None:
        return found[0], found[1]
    if os.geteuid() != 0:
        raise RuntimeError(
            f"prometheus and promtool not found: install the `{PACKAGE}` package "
            f"(for example `sudo apt-get install -y --no-install-recommends {PACKAGE}`)"
        )
    with locked(INSTALL_LOCK), _daemons_not_started():
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if find_binary("promtool") is None:  # another checkout may have installed it meanwhile
            apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300"]
            subprocess.run([*apt, "update"], env=env, check=True)
            install = [*apt, "install", "-y", "--no-install-recommends", PACKAGE]
            subprocess.run(install, env=env, check=True)
            if SYSTEMD.is_dir():  # nor at the next boot
                subprocess.run(["systemctl", "disable", "--now", PACKAGE], check=False)
    prometheus, promtool = find_binary("prometheus"), find_binary("promtool")
    if prometheus is None or promtool is None:
        raise RuntimeError(f"installed `{PACKAGE}` but still found no prometheus and promtool")
    return prometheus, promtool


@contextlib.contextmanager
def _daemons_not_started() -> Iterator[None]:
    if POLICY_RC.exists():  # a container's image usually has one already
        yield
        return
    POLICY_RC.write_text("#!/bin/sh\n# fulfil: installing packages, start no daemon\nexit 101\n")
    POLICY_RC.chmod(0o755)
    try:
        yield
    finally:
        POLICY_RC.unlink(missing_ok=True)


def promtool() -> Path:
    return ensure_installed()[1]


# --- the server -----------------------------------------------------------------


Targets = Mapping[str, str | Sequence[str]]
"""Each job's `host:port`, or several: a service's replicas are one job."""


def config(
    targets: Targets,
    *,
    scrape_interval: str = DEFAULT_SCRAPE_INTERVAL,
    evaluation_interval: str | None = None,
    rule_files: Sequence[Path] = DEFAULT_RULE_FILES,
) -> dict[str, Any]:
    """Prometheus's configuration: one job per service, its replicas its targets."""
    return {
        "global": {
            "scrape_interval": scrape_interval,
            "scrape_timeout": _shorter(scrape_interval, "10s"),
            "evaluation_interval": evaluation_interval or scrape_interval,
        },
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {"job_name": name, "static_configs": [{"targets": _listed(target)}]}
            for name, target in sorted(targets.items())
        ],
    }


def _listed(target: str | Sequence[str]) -> list[str]:
    return [target] if isinstance(target, str) else list(target)


class Prometheus:
    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir.resolve()

    @property
    def state_file(self) -> Path:
        return self.base_dir / "prometheus.json"

    @property
    def config_file(self) -> Path:
        return self.base_dir / "prometheus.yml"

    @property
    def pid_file(self) -> Path:
        return self.base_dir / "prometheus.pid"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "prometheus.log"

    @property
    def port(self) -> int:
        return int(self._state()["port"])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(
        self,
        targets: Targets,
        *,
        scrape_interval: str = DEFAULT_SCRAPE_INTERVAL,
        evaluation_interval: str | None = None,
        rule_files: Sequence[Path] = DEFAULT_RULE_FILES,
        timeout: float = 60.0,
    ) -> str:
        """Writes the configuration and starts the server, or reloads a running one; its URL."""
        binary, _ = ensure_installed()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with locked(self.base_dir / ".lock"):
            state: dict[str, Any] = (
                self._state() if self.state_file.exists() else {"port": free_port()}
            )
            state.update(targets=dict(targets), scrape_interval=scrape_interval)
            self.state_file.write_text(json.dumps(state, indent=2))
            settings = config(
                targets,
                scrape_interval=scrape_interval,
                evaluation_interval=evaluation_interval,
                rule_files=rule_files,
            )
            self.config_file.write_text(json.dumps(settings, indent=2))
            pid = self.pid()
            if pid is not None:
                os.kill(pid, signal.SIGHUP)  # re-reads the configuration and the rules
            else:
                self._launch(binary)
        self._wait_ready(time.monotonic() + timeout)
        return self.url

    def stop(self, timeout: float = 30.0) -> None:
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.pid() is not None:
                time.sleep(POLL_INTERVAL)
            if self.pid() is not None:
                os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)

    def pid(self) -> int | None:
        """The server's pid while it runs (checked against its command line), else None."""
        try:
            pid = int(self.pid_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            status = Path(f"/proc/{pid}/stat").read_text()
        except (FileNotFoundError, ValueError):
            return None
        name, _, rest = status.rpartition(")")
        if rest.split()[0] == "Z":
            return None
        # Right after exec the command line reads empty for a moment; the name is there.
        ours = str(self.config_file).encode() in cmdline if cmdline else name.endswith("prometheus")
        return pid if ours else None

    def status(self) -> dict[str, Any]:
        if not self.state_file.exists():
            return {"pid": None, "url": None}
        pid = self.pid()
        return {"pid": pid, "url": self.url, "ready": bool(pid) and self.ready()}

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:  # noqa: S310
                return bool(response.status == 200)
        except OSError:
            return False

    def _state(self) -> dict[str, Any]:
        return dict(json.loads(self.state_file.read_text()))

    def _launch(self, binary: Path) -> None:
        if port_open(LOOPBACK, self.port):
            raise RuntimeError(
                f"port {self.port} is taken; remove {self.state_file} to pick another"
            )
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                [
                    str(binary),
                    f"--config.file={self.config_file}",
                    f"--storage.tsdb.path={self.base_dir / 'data'}",
                    f"--web.listen-address={LOOPBACK}:{self.port}",
                    "--storage.tsdb.retention.time=7d",
                ],
                cwd=self.base_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))

    def _wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.pid() is None:
                break
            if self.ready():
                return
            time.sleep(POLL_INTERVAL)
        tail = self.log_file.read_text(errors="replace")[-3000:] if self.log_file.exists() else ""
        raise RuntimeError(f"prometheus not ready at {self.url}; log tail:\n{tail}")


def _shorter(interval: str, limit: str) -> str:
    """The scrape timeout: the interval itself up to `limit` (it may not exceed the interval)."""
    return interval if _seconds(interval) < _seconds(limit) else limit


def _seconds(interval: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in sorted(units, key=len, reverse=True):
        if interval.endswith(unit):
            return float(interval[: -len(unit)]) * units[unit]
    raise ValueError(f"not a duration: {interval!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("command", choices=("promtool", "status", "stop"))
    parser.add_argument("--dir", type=Path, default=REPO / ".local" / "prometheus")
    args = parser.parse_args(argv)
    if args.command == "promtool":
        print(promtool())
    elif args.command == "status":
        print(json.dumps(Prometheus(args.dir).status(), indent=2))
    else:
        Prometheus(args.dir).stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
