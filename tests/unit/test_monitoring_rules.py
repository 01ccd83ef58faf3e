"""The alert and recording rules of deploy/monitoring/: valid for Prometheus, their own
`promtool test rules` unit tests pass, every alert is tested firing and quiet, carries
what an operator needs (severity, summary, description, a runbook section that exists)
and queries only metrics the services export."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.local.prometheus import config, promtool
from deploy.local.stack import SERVICES
from deploy.monitoring.names import known, metric_names

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
RULE_FILES = sorted((MONITORING / "rules").glob("*.yml"))
TEST_FILES = sorted((MONITORING / "tests").glob("*.yml"))
OPERATIONS = MONITORING.parents[1] / "docs" / "operations.md"
ALERTS = (
    "ConsumerLagGrowing",
    "DeadLettersAppearing",
    "OutboxBacklog",
    "OrdersStuck",
    "NoOrdersPlaced",
    "PaymentFailureRate",
    "ServiceDown",
)


def run_promtool(*args: str | Path) -> None:
    # the rule files name their tests' rules relative to themselves
    done = subprocess.run(
        [str(promtool()), *map(str, args)],
        cwd=MONITORING / "tests",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"promtool {args[0]} {args[1]}:\n{done.stdout}\n{done.stderr}"


def rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def alerts() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in rules() if "alert" in rule}


def test_promtool_accepts_the_rules() -> None:
    run_promtool("check", "rules", *RULE_FILES)


def test_the_rules_unit_tests_pass() -> None:
    run_promtool("test", "rules", *TEST_FILES)


def test_the_alerts_are_the_ones_operators_were_promised() -> None:
    assert set(alerts()) == set(ALERTS)


@pytest.mark.parametrize("name", ALERTS)
def test_an_alert_says_how_bad_what_and_where_to_read_on(name: str) -> None:
    rule = alerts()[name]
    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    runbook = rule["annotations"]["runbook_url"]
    assert runbook == f"docs/operations.md#{name.lower()}"
    assert f"### {name}\n" in OPERATIONS.read_text(), f"docs/operations.md has no {name} section"


@pytest.mark.parametrize("name", ALERTS)
def test_an_alert_is_tested_firing_and_quiet(name: str) -> None:
    cases = [
        case
        for path in TEST_FILES
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case["alertname"] == name
    ]
    assert any(case.get("exp_alerts") for case in cases), f"no test sees {name} fire"
    assert any(not case.get("exp_alerts") for case in cases), f"no test sees {name} quiet"


def test_the_rules_query_only_metrics_the_services_export() -> None:
    exported = known()
    for rule in rules():
        unknown = metric_names(rule["expr"]) - exported
        assert not unknown, f"{rule.get('alert') or rule.get('record')} queries {unknown}"


def test_recording_rules_give_conversion_and_refund_rate() -> None:
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    assert {"fulfil:order_conversion:ratio_1h", "fulfil:refund_rate:ratio_1d"} <= recorded
    assert all(re.fullmatch(r"fulfil:\w+(:\w+)?", name) for name in recorded)


def test_compose_prometheus_scrapes_every_service_as_the_local_one_does() -> None:
    compose = yaml.safe_load((MONITORING / "prometheus" / "compose.yml").read_text())
    expected = config(
        {name: f"{name}:8080" for name in SERVICES},
        rule_files=[Path("/etc/prometheus/rules/*.yml")],
    )
    assert compose == expected
