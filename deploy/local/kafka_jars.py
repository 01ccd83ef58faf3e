"""The Kafka jars from Maven Central (``deploy/kafka/pom.xml``), cached once, and Java."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from deploy.local.locks import locked

KAFKA_VERSION = "4.1.1"
KAFKA_DIR = Path(__file__).resolve().parents[1] / "kafka"
POM = KAFKA_DIR / "pom.xml"
BROKER_LOG_CONFIG = KAFKA_DIR / "log4j2.properties"
TOOLS_LOG_CONFIG = KAFKA_DIR / "tools-log4j2.properties"
BROKER_JVM_OPTS = ("-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true")
TOOL_JVM_OPTS = ("-Xmx512m", "-Djava.awt.headless=true")


def default_cache_dir() -> Path:
    """``$FULFIL_CACHE`` if set, else ``~/.cache/fulfil``."""
    env = os.environ.get("FULFIL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "fulfil"


def ensure_jars(cache_dir: Path | None = None) -> Path:
    """Download the broker and tool jars once; return the directory holding them.

    The jars land in ``<cache_dir>/kafka-<version>/libs``. A marker holding the
    pom's SHA-256 is written only after Maven succeeded, so an interrupted
    download, or a changed pom, is fetched again on the next call.
    """
    root = (cache_dir or default_cache_dir()) / f"kafka-{KAFKA_VERSION}"
    libs, marker = root / "libs", root / "libs.complete"
    key = hashlib.sha256(POM.read_bytes()).hexdigest()
    if _marker_matches(marker, key, libs):
        return libs
    root.mkdir(parents=True, exist_ok=True)
    with locked(root / ".lock"):
        if _marker_matches(marker, key, libs):  # another process fetched them meanwhile
            return libs
        marker.unlink(missing_ok=True)
        for leftover in root.glob("libs.partial-*"):  # from interrupted downloads
            shutil.rmtree(leftover, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix="libs.partial-", dir=root))
        mvn = _require_program("mvn", debian_package="maven")
        cmd = [
            mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
            "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise RuntimeError(f"fetching Kafka jars failed:\n{result.stdout}{result.stderr}")
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        marker.write_text(key + "\n")
    return libs


def libs_dir() -> Path:
    """The directory of the Kafka jars (fetched on first use)."""
    return ensure_jars()


def run_tool(
    main_class: str,
    args: list[str],
    *,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a Kafka command-line tool, e.g. ``org.apache.kafka.tools.ProducerPerformance``.

    Output is captured as text; the tool's own logging goes to stderr at WARN.
    """
    cmd = [
        java(), *TOOL_JVM_OPTS, f"-Dlog4j2.configurationFile={TOOLS_LOG_CONFIG}",
        "-cp", classpath(libs_dir()), main_class, *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=timeout)


def _marker_matches(marker: Path, key: str, libs: Path) -> bool:
    try:
        return marker.read_text().strip() == key and any(libs.glob("*.jar"))
    except FileNotFoundError:
        return False


def classpath(libs: Path) -> str:
    return f"{libs}/*"


def java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    return _require_program("java", debian_package="openjdk-17-jre-headless")


def _require_program(name: str, debian_package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"`{name}` is not on PATH; install it (Debian package `{debian_package}`)"
        )
    return path
