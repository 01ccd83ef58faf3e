"""A local PostgreSQL server from the distribution's packages, one per directory.

The server listens on 127.0.0.1 only, on a port picked once and kept in
``base_dir/cluster.json``; the superuser is ``fulfil`` with trust
authentication, so a DSN needs no password::

    base_dir/cluster.json       port, server and socket directories
    server_dir/data/            the data directory (initdb)
    server_dir/run/             the Unix socket (or a short path under /tmp)
    server_dir/postgres.log     the server log

``server_dir`` is ``base_dir`` itself, except in one case. PostgreSQL refuses
to run as root: as root, the server files belong to the ``postgres`` system
user and every server program runs through ``runuser``. When that user cannot
enter ``base_dir`` (a checkout under /root, or any mode-700 parent), the server
files live in ``/var/tmp/fulfil-postgres-<hash of base_dir>`` instead, owned by
``postgres``: the same ``base_dir`` always finds the same place, two never share
one, and ``cluster.json`` records it so ``stop`` and ``status`` find it too.

    python -m deploy.local.postgres start --dir .local/postgres
    python -m deploy.local.postgres status --dir .local/postgres
    python -m deploy.local.postgres stop --dir .local/postgres
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import TypedDict
from urllib.parse import quote

from deploy.local.locks import locked
from deploy.local.ports import LOOPBACK, free_port, port_open

PACKAGE = "postgresql"
SUPERUSER = "fulfil"
SYSTEM_USER = "postgres"
OUTSIDE_PARENT = Path("/var/tmp")  # survives a reboot, unlike a tmpfs /tmp
SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes, the last one a NUL
SETTINGS = {  # for a small development box; commits stay durable
    "listen_addresses": f"'{LOOPBACK}'",
    "max_connections": "300",
    "shared_buffers": "'128MB'",
    "fsync": "on",
    "synchronous_commit": "on",
}
POLL_INTERVAL = 0.2


# --- installation -------------------------------------------------------------


def find_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with the server programs, else PATH."""
    candidates = [
        path
        for path in Path("/usr/lib/postgresql").glob("*/bin")
        if (path / "initdb").exists() and (path / "pg_ctl").exists()
    ]
    if candidates:
        return max(candidates, key=lambda path: _version_key(path.parent.name))
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    return None


def ensure_installed() -> Path:
    """Return the server's bin directory, installing the ``postgresql`` package if root."""
    found = find_bin_dir()
    if found is not None:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(
            f"PostgreSQL server programs (initdb, pg_ctl) not found: install the `{PACKAGE}` "
            f"package (for example `sudo apt-get install -y {PACKAGE}`)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], env=env, check=True)
    subprocess.run(["apt-get", "install", "-y", PACKAGE], env=env, check=True)
    found = find_bin_dir()
    if found is None:
        raise RuntimeError(f"installed `{PACKAGE}` but still found no initdb and pg_ctl")
    return found


def _version_key(name: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return (0,)


# --- helpers ------------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    """This process's environment without PG* variables that could redirect a command."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"({path} does not exist)"


class PostgresStatus(TypedDict):
    pid: int | None
    port: int | None
    alive: bool
    data_dir: str
    socket_dir: str | None


class PostgresCluster:
    """One PostgreSQL server whose files live in ``base_dir``."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = Path(base_dir).resolve()
        self._as_system_user = os.geteuid() == 0

    # public API

    @property
    def server_dir(self) -> Path:
        """Where the data, socket and log live: ``base_dir`` unless ``cluster.json`` says else."""
        path = self.base_dir / "cluster.json"
        config = json.loads(path.read_text()) if path.exists() else {}
        return self._server_dir_of(config)

    @property
    def data_dir(self) -> Path:
        return self.server_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.server_dir / "postgres.log"

    @property
    def port(self) -> int:
        """The server's port (picked by the first ``start()``)."""
        return int(self._config()["port"])

    def dsn(self, db: str) -> str:
        """``postgresql://fulfil@127.0.0.1:<port>/<db>`` (no password: trust authentication)."""
        return f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/{quote(db, safe='')}"

    def start(self, timeout: float = 60.0) -> str:
        """Initialise once, start unless running, wait for connections; return the admin DSN."""
        deadline = time.monotonic() + timeout
        bin_dir = ensure_installed()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with locked(self.base_dir / ".lock"):
            config = self._load_or_create_config(bin_dir)
            self._prepare_files(Path(str(config["socket_dir"])))
            self._initdb(bin_dir)
            self._write_settings(config)
            if self._postmaster_pid() is not None:
                self._wait_ready(bin_dir, deadline)
                return self.dsn("postgres")
            if port_open(LOOPBACK, int(config["port"])):
                raise RuntimeError(
                    f"port {config['port']} kept in {self.base_dir / 'cluster.json'} "
                    "is taken by another process"
                )
            try:
                self._pg_ctl_start(bin_dir, deadline)
                self._wait_ready(bin_dir, deadline)
            except BaseException:  # a server this call started and cannot use: stop it
                self._stop_server(bin_dir, timeout=10.0)
                raise
        return self.dsn("postgres")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server (fast shutdown: sessions are cut, no data is lost)."""
        if not (self.data_dir / "PG_VERSION").exists():
            return
        bin_dir = ensure_installed()
        with locked(self.base_dir / ".lock"):
            self._stop_server(bin_dir, timeout)

    def remove(self) -> None:
        """Stop the server and delete its files, inside ``base_dir`` and outside it."""
        self.stop()
        config = self._config() if (self.base_dir / "cluster.json").exists() else {}
        for path in (Path(str(config.get("socket_dir", ""))), self._server_dir_of(config)):
            if path != Path() and path != self.base_dir:
                shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def status(self) -> PostgresStatus:
        """The server's pid (None when down), port and directories."""
        config = self._config() if (self.base_dir / "cluster.json").exists() else None
        pid = self._postmaster_pid()
        return PostgresStatus(
            pid=pid,
            port=int(config["port"]) if config else None,
            alive=pid is not None,
            data_dir=str(self._server_dir_of(config or {}) / "data"),
            socket_dir=str(config["socket_dir"]) if config and "socket_dir" in config else None,
        )

    def is_running(self) -> bool:
        """True when the server process runs and its port accepts connections."""
        status = self.status()
        return (
            status["alive"] and status["port"] is not None and port_open(LOOPBACK, status["port"])
        )

    def create_database(self, name: str) -> str:
        """Create database ``name`` unless it exists; return its DSN."""
        sql = (
            "SELECT format('CREATE DATABASE %I', :'name') "
            "WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \\gexec\n"
        )
        result = self._psql(sql, name)
        if result.returncode != 0 and not self._database_exists(name):  # lost a race is fine
            raise RuntimeError(f"creating database {name!r} failed:\n{result.stderr}")
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, cutting its open sessions."""
        sql = "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', :'name') \\gexec\n"
        result = self._psql(sql, name)
        if result.returncode != 0:
            raise RuntimeError(f"dropping database {name!r} failed:\n{result.stderr}")

    # configuration

    def _config(self) -> dict[str, str | int]:
        path = self.base_dir / "cluster.json"
        if not path.exists():
            raise RuntimeError(f"no PostgreSQL server in {self.base_dir}: start() it first")
        config: dict[str, str | int] = json.loads(path.read_text())
        return config

    def _server_dir_of(self, config: dict[str, str | int]) -> Path:
        return Path(str(config.get("server_dir", self.base_dir)))

    def _load_or_create_config(self, bin_dir: Path) -> dict[str, str | int]:
        """The kept port and directories; a server not yet initialised is placed afresh."""
        path = self.base_dir / "cluster.json"
        config: dict[str, str | int] = self._config() if path.exists() else {"port": free_port()}
        if not (self._server_dir_of(config) / "initdb.done").exists():
            server_dir = self._choose_server_dir()
            if server_dir != self.base_dir and server_dir.exists():
                self._discard_leftover(server_dir, bin_dir)
            config["server_dir"] = str(server_dir)
            config["socket_dir"] = str(self._socket_dir(server_dir))
            path.write_text(json.dumps(config, indent=2) + "\n")
        return config

    def _choose_server_dir(self) -> Path:
        """``base_dir``, or a directory of its own under /var/tmp if the server cannot enter it."""
        if not self._as_system_user or self._system_user_can_enter(self.base_dir):
            return self.base_dir
        return OUTSIDE_PARENT / f"fulfil-postgres-{self._digest()}"

    def _discard_leftover(self, server_dir: Path, bin_dir: Path) -> None:
        """Delete a server outside ``base_dir`` that ``cluster.json`` does not know.

        It is what remains of an earlier ``base_dir`` at this path, since removed
        (``make clean``): a new one starts empty, as it would inside ``base_dir``.
        """
        data = server_dir / "data"
        if (data / "postmaster.pid").exists():
            pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
            self._run([*pg_ctl, "-w", "-t", "10", "-m", "fast", "stop"])
        shutil.rmtree(server_dir)

    def _digest(self) -> str:
        return hashlib.sha256(str(self.base_dir).encode()).hexdigest()[:16]

    def _system_user_can_enter(self, path: Path) -> bool:
        return self._run(["test", "-x", str(path)]).returncode == 0

    def _socket_dir(self, server_dir: Path) -> Path:
        """``server_dir/run``, or a short directory under /tmp if the socket path is too long."""
        preferred = server_dir / "run"
        if len(str(preferred / ".s.PGSQL.65535").encode()) <= SOCKET_PATH_MAX:
            return preferred
        return Path("/tmp") / f"fulfil-pg-{self._digest()[:12]}"

    def _prepare_files(self, socket_dir: Path) -> None:
        """Create the directories the server writes to, owned by the user it runs as."""
        if self.server_dir != self.base_dir:
            self._make_outside_dir(self.server_dir)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        socket_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.touch()
        if not self._as_system_user:
            return
        if not self._system_user_can_enter(self.server_dir):
            raise RuntimeError(
                f"the `{SYSTEM_USER}` user cannot enter {self.server_dir}, which holds an "
                "initialised server: give every parent directory o+x, or remove "
                f"{self.base_dir} to start afresh outside it"
            )
        account = pwd.getpwnam(SYSTEM_USER)
        for path in (self.data_dir, socket_dir, self.log_file):
            if path.stat().st_uid != account.pw_uid:
                for item in [path, *(path.rglob("*") if path.is_dir() else [])]:
                    os.chown(item, account.pw_uid, account.pw_gid)

    def _make_outside_dir(self, path: Path) -> None:
        """Create ``path`` for the server alone; refuse one that somebody else planted."""
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
        info = os.lstat(path)
        owners = {os.geteuid()}
        if self._as_system_user:
            owners.add(pwd.getpwnam(SYSTEM_USER).pw_uid)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid not in owners:
            raise RuntimeError(f"{path} exists but is not a directory of ours: remove it")
        if self._as_system_user:
            account = pwd.getpwnam(SYSTEM_USER)
            os.chown(path, account.pw_uid, account.pw_gid)
        path.chmod(0o700)
        (path / "checkout").write_text(f"{self.base_dir}\n")  # whose server this is

    def _initdb(self, bin_dir: Path) -> None:
        marker = self.server_dir / "initdb.done"
        if marker.exists():
            return
        for item in self.data_dir.iterdir():  # leftovers of an interrupted initdb
            if item.is_dir():
                shutil.rmtree(item)
            else:
                item.unlink()
        cmd = [
            str(bin_dir / "initdb"), "-D", str(self.data_dir), "--auth=trust",
            f"--username={SUPERUSER}", "-E", "UTF8", "--locale=C",
        ]  # fmt: skip
        result = self._run(cmd)
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}{result.stderr}")
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'fulfil.conf'\n")
        marker.write_text("ok\n")

    def _write_settings(self, config: dict[str, str | int]) -> None:
        settings = {
            **SETTINGS,
            "port": str(config["port"]),
            "unix_socket_directories": f"'{config['socket_dir']}'",
        }
        path = self.data_dir / "fulfil.conf"
        path.write_text(
            "# Written by deploy/local/postgres.py on every start.\n"
            + "".join(f"{key} = {value}\n" for key, value in settings.items())
        )
        if self._as_system_user:
            account = pwd.getpwnam(SYSTEM_USER)
            os.chown(path, account.pw_uid, account.pw_gid)

    # processes

    def _run(
        self, cmd: list[str], *, new_session: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run a server program as the user the server runs as."""
        if self._as_system_user:
            cmd = ["runuser", "-u", SYSTEM_USER, "--", *cmd]
        return subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            check=False,
            cwd="/",  # the server's user may not be able to enter this process's directory
            env=_clean_env(),
            start_new_session=new_session,
        )

    def _pg_ctl_start(self, bin_dir: Path, deadline: float) -> None:
        while True:
            wait = max(1, int(deadline - time.monotonic()))
            cmd = [
                str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
                "-w", "-t", str(wait), "start",
            ]  # fmt: skip
            # A session of its own: the server survives Ctrl-C and the end of this process.
            result = self._run(cmd, new_session=True)
            if result.returncode == 0:
                return
            if time.monotonic() < deadline and self._crashed_server_lingers():
                time.sleep(POLL_INTERVAL)
                continue
            raise RuntimeError(
                f"PostgreSQL in {self.base_dir} did not start:\n{result.stdout}{result.stderr}\n"
                f"--- {self.log_file} ---\n{_tail(self.log_file)}"
            )

    def _stop_server(self, bin_dir: Path, timeout: float) -> None:
        """Fast shutdown (sessions are cut, no data is lost), immediate if that fails."""
        if self._postmaster_pid() is None:
            return
        wait = ["-w", "-t", str(max(1, int(timeout)))]
        pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(self.data_dir)]
        fast = self._run([*pg_ctl, *wait, "-m", "fast", "stop"])
        if fast.returncode != 0 and self._postmaster_pid() is not None:
            self._run([*pg_ctl, "-m", "immediate", "stop"])

    def _crashed_server_lingers(self) -> bool:
        """After a crash, the old server's last processes can block a restart for a moment."""
        last = _tail(self.log_file, 5)
        stale_lock = 'lock file "postmaster.pid" already exists' in last
        return stale_lock or "pre-existing shared memory block" in last

    def _wait_ready(self, bin_dir: Path, deadline: float) -> None:
        """Poll ``pg_isready`` over TCP until the server accepts connections."""
        cmd = [
            str(bin_dir / "pg_isready"), "-h", LOOPBACK, "-p", str(self.port),
            "-U", SUPERUSER, "-d", "postgres", "-t", "2",
        ]  # fmt: skip
        while True:
            result = subprocess.run(
                cmd, capture_output=True, text=True, check=False, env=_clean_env()
            )
            if result.returncode == 0:
                return
            if self._postmaster_pid() is None:
                raise RuntimeError(
                    f"PostgreSQL in {self.base_dir} exited while starting\n"
                    f"--- {self.log_file} ---\n{_tail(self.log_file)}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"PostgreSQL in {self.base_dir} not ready: {result.stdout.strip()}\n"
                    f"--- {self.log_file} ---\n{_tail(self.log_file)}"
                )
            time.sleep(POLL_INTERVAL)

    def _postmaster_pid(self) -> int | None:
        """The server's pid while it runs (a crashed one can linger as a zombie: not running)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, ValueError, PermissionError):
            return None
        state = stat.rsplit(")", 1)[1].split()[0]
        return pid if state not in ("Z", "X") and b"postgres" in cmdline else None

    # SQL through psql (no event loop needed)

    def _psql(self, sql: str, name: str) -> subprocess.CompletedProcess[str]:
        bin_dir = ensure_installed()
        cmd = [
            str(bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"name={name}",
            "--tuples-only", "--no-align",
            "-h", LOOPBACK, "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres",
        ]  # fmt: skip
        return subprocess.run(
            cmd, input=sql, capture_output=True, text=True, check=False, env=_clean_env()
        )

    def _database_exists(self, name: str) -> bool:
        result = self._psql("SELECT 1 FROM pg_database WHERE datname = :'name';\n", name)
        return result.returncode == 0 and result.stdout.strip() == "1"


# --- command line ---------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local.postgres", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument(
        "--dir", type=Path, default=Path(".local/postgres"), help="server directory"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait")
    args = parser.parse_args(argv)

    cluster = PostgresCluster(args.dir)
    if args.command == "start":
        print(cluster.start(timeout=args.timeout))
    elif args.command == "stop":
        cluster.stop(timeout=args.timeout)
    else:
        print(json.dumps(cluster.status(), indent=2))
        return 0 if cluster.is_running() else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
