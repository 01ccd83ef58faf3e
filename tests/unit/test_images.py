"""The image (Dockerfile) and the compose stack (docker-compose.yml): runtime dependencies
only, pinned by requirements.lock, a non-root user; compose without fixed host ports for
the services, waiting on readiness, with every image pinned."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from shared.contracts.registry import SERVICES

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
PINNED = re.compile(r"^[^:@\s]+(:[^:@\s]*\d+\.\d+[^:@\s]*)?(@sha256:[0-9a-f]{64})?$")


def dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def locked() -> dict[str, Version]:
    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", (REPO / "requirements.lock").read_text(), re.M)
    return {canonicalize_name(name): Version(version) for name, version in pins}


def test_the_lock_pins_every_runtime_dependency_within_its_bounds() -> None:
    pins = locked()
    for spec in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: compile it again"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, pyproject wants {requirement}"
        )


def test_the_lock_has_hashes_and_no_dev_or_bench_tools() -> None:
    text = (REPO / "requirements.lock").read_text()
    assert "--hash=sha256:" in text
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[-1])
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)
    runtime = {canonicalize_name(Requirement(s).name) for s in PYPROJECT["project"]["dependencies"]}
    extras = PYPROJECT["project"]["optional-dependencies"]
    tools = {canonicalize_name(Requirement(s).name) for group in extras.values() for s in group}
    assert not (tools - runtime) & set(locked()), "a dev or bench tool is in the runtime lock"


def test_the_image_installs_the_lock_then_the_package_without_extras() -> None:
    runs = [line for line in dockerfile() if line.startswith("RUN ")]
    installs = [line for line in runs if "pip install" in line]
    assert any(
        "--no-deps" in line and "--require-hashes" in line and "-r /tmp/requirements.lock" in line
        for line in installs
    )
    package = [line for line in installs if "requirements.lock" not in line]
    assert package and all("--no-deps" in line for line in package)
    assert not any(re.search(r"\[[a-z, ]*(dev|bench)", line) for line in runs)
    assert any(line == "COPY requirements.lock /tmp/requirements.lock" for line in dockerfile())


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    users = [line.split()[1] for line in dockerfile() if line.startswith("USER ")]
    assert users, "no USER: the image would run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_the_base_image_is_pinned() -> None:
    bases = [line.split()[1] for line in dockerfile() if line.startswith("FROM ")]
    args = dict(
        line.removeprefix("ARG ").split("=", 1) for line in dockerfile() if line.startswith("ARG ")
    )
    for base in bases:
        image = args.get(base.strip("${}"), base) if base.startswith("$") else base
        assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", image), image


def test_compose_gives_the_services_no_fixed_host_port() -> None:
    for name in (*SERVICES, "sinks"):
        ports = COMPOSE["services"][name].get("ports", [])
        assert all(":" not in str(port) for port in ports), f"{name} has a fixed host port"


@pytest.mark.parametrize("name", SERVICES)
def test_compose_services_are_healthy_when_ready(name: str) -> None:
    service = COMPOSE["services"][name]
    assert any("/readyz" in str(part) for part in service["healthcheck"]["test"])
    conditions = {dep: d["condition"] for dep, d in service["depends_on"].items()}
    assert conditions["kafka"] == conditions["postgres"] == "service_healthy"
    assert conditions["topics"] == "service_completed_successfully"


def test_notify_starts_once_its_sinks_are_healthy() -> None:
    sinks = COMPOSE["services"]["sinks"]
    assert any("/messages" in str(part) for part in sinks["healthcheck"]["test"])
    assert COMPOSE["services"]["notify"]["depends_on"]["sinks"]["condition"] == "service_healthy"


def test_compose_images_are_pinned_and_ours_is_the_project_version() -> None:
    version = PYPROJECT["project"]["version"]
    for name, service in COMPOSE["services"].items():
        image = service["image"]
        assert PINNED.match(image) and not image.endswith(":latest"), f"{name}: {image}"
        assert ":" in image or "@" in image, f"{name}: {image} has no tag"
        if image.startswith("fulfil-services"):
            assert image == f"fulfil-services:{version}"
