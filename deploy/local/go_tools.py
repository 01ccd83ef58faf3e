"""Programs the tests need that are written in Go, built once with `go install`.

Each is built at a pinned version into ``<cache>/go/bin`` (``$FULFIL_CACHE`` or
``~/.cache/fulfil``), next to a ``<program>.<version>`` marker, under a lock so that
parallel test runs build it once. A new pinned version replaces the old build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from deploy.local.kafka_jars import default_cache_dir
from deploy.local.locks import locked


def bin_dir(cache_dir: Path | None = None) -> Path:
    return (cache_dir or default_cache_dir()) / "go" / "bin"


def go_install(
    program: str,
    package: str,
    version: str,
    cache_dir: Path | None = None,
    *,
    background: bool = False,
) -> Path:
    """The path of `program`, built from `package@version` when missing or of another
    version (a few seconds to a few minutes, once). `background` builds at the lowest CPU
    priority, on what the machine leaves idle."""
    target = bin_dir(cache_dir)
    binary, marker = target / program, target / f"{program}.{version}"
    if binary.exists() and marker.exists():
        return binary
    target.mkdir(parents=True, exist_ok=True)
    with locked(target / f".{program}.lock"):
        if binary.exists() and marker.exists():  # another process built it meanwhile
            return binary
        go = shutil.which("go") or "/usr/local/go/bin/go"
        if not Path(go).exists():
            raise RuntimeError(f"`go` (1.22 or newer) is not on PATH: it builds {program}")
        env = {**os.environ, "GOBIN": str(target)}
        cmd = [*(["nice", "-n", "19"] if background else []), go, "install", f"{package}@{version}"]
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"building {program} failed:\n{result.stdout}{result.stderr}")
        for old in target.glob(f"{program}.v*"):
            old.unlink()
        marker.write_text(version + "\n")
    return binary
