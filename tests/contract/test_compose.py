"""docker-compose.yml: valid Compose, and wired the way the services read their settings.

No Docker engine and no network needed: the file is checked against the
Compose specification's JSON schema, which the `check-jsonschema` package
ships as a data file (its `vendor.compose-spec` builtin schema).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
INIT_SQL = REPO_ROOT / "deploy" / "compose" / "init-db.sql"
SERVICES = ("order", "payment", "logistics", "notify", "returns")


def compose_schema() -> dict[str, Any]:
    # Read as a file: importing check_jsonschema would load its CLI, which is not needed.
    schema = importlib.metadata.distribution("check-jsonschema").locate_file(
        "check_jsonschema/builtin_schemas/vendor/compose-spec.json"
    )
    return json.loads(Path(str(schema)).read_text())  # type: ignore[no-any-return]


def schema_errors(document: object) -> list[str]:
    validator = Draft202012Validator(compose_schema())
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def as_list(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else command


def as_dict(environment: dict[str, object] | list[str]) -> dict[str, str]:
    if isinstance(environment, dict):
        return {key: str(value) for key, value in environment.items()}
    return dict(item.split("=", 1) for item in environment)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # type: ignore[no-any-return]


def test_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    assert schema_errors(compose) == []


def test_the_schema_check_catches_mistakes() -> None:
    broken = {"services": {"order": {"image": "x", "comand": ["python"], "ports": [{}]}}}
    assert schema_errors(broken)


@pytest.mark.parametrize("name", SERVICES)
def test_service_runs_its_module_with_its_settings(
    compose: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = compose["services"][name]
    prefix = f"{name.upper()}_"
    env = as_dict(service["environment"])

    assert as_list(service["command"]) == ["python", "-m", f"services.{name}"]
    assert env[f"{prefix}ENV"] == "development"
    assert env[f"{prefix}KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert env[f"{prefix}DATABASE_URL"] == f"postgresql://fulfil:fulfil@postgres:5432/{name}"
    assert env[f"{prefix}HTTP_HOST"] == "0.0.0.0"
    # published on a free host port (`docker compose port <name> 8080`), never a fixed one
    assert [str(p) for p in service["ports"]] == [env[f"{prefix}HTTP_PORT"]]
    assert "/readyz" in " ".join(as_list(service["healthcheck"]["test"]))
    expected = {
        "kafka": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
        "topics": {"condition": "service_completed_successfully"},
    }
    if name == "notify":  # its SMTP server and SMS gateway
        expected["sinks"] = {"condition": "service_healthy"}
    assert service["depends_on"] == expected

    # The service's own settings class accepts every variable the file sets.
    module = importlib.import_module(f"services.{name}.settings")
    settings_class = getattr(module, f"{name.capitalize()}Settings")
    unknown = [key for key in env if key[len(prefix) :].lower() not in settings_class.model_fields]
    assert unknown == [], f"{name} has no setting for {unknown}"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = settings_class()
    assert settings.database_url == env[f"{prefix}DATABASE_URL"]
    assert settings.kafka_bootstrap == "kafka:9092"


def test_every_service_database_is_created_at_initialisation(compose: dict[str, Any]) -> None:
    mounts = [str(volume) for volume in compose["services"]["postgres"]["volumes"]]
    assert any(
        m.startswith("./deploy/compose/init-db.sql:/docker-entrypoint-initdb.d/") for m in mounts
    )
    sql = INIT_SQL.read_text()
    for name in SERVICES:
        assert f'CREATE DATABASE "{name}";' in sql or f"CREATE DATABASE {name};" in sql


def test_topics_are_created_once_the_broker_is_healthy(compose: dict[str, Any]) -> None:
    topics = compose["services"]["topics"]
    assert as_list(topics["command"]) == [
        "python", "-m", "shared.kafka.admin", "--bootstrap", "kafka:9092",
    ]  # fmt: skip
    assert topics["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    assert compose["services"]["kafka"]["image"] == "apache/kafka:4.1.1"
