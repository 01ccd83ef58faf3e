"""The Grafana dashboard of deploy/monitoring/grafana/: the panels a team asks for, each
query valid PromQL (promtool checks it as a recording rule) naming only metrics the
services export, and the provisioning that loads it against the compose Prometheus."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from deploy.local.prometheus import promtool
from deploy.monitoring.names import known, metric_names

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "monitoring" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "fulfil.json"
# Grafana's own variables, as a query at a 1 h range and a 15 s scrape would see them.
GRAFANA_VARIABLES = {"$__range": "1h", "$__rate_interval": "1m", "$__interval": "15s"}


def panels() -> list[dict[str, Any]]:
    return [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]


def expressions() -> list[tuple[str, str]]:
    return [(p["title"], target["expr"]) for p in panels() for target in p["targets"]]


def as_prometheus_sees_it(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def test_the_dashboard_shows_what_a_team_watches() -> None:
    by_title = {p["title"]: " ".join(t["expr"] for t in p["targets"]) for p in panels()}
    every = " ".join(by_title.values())
    funnel = next(exprs for title, exprs in by_title.items() if title.startswith("Funnel"))
    for stage in ("orders_placed", "payments_total", "pay_to_ship", "ship_to_deliver"):
        assert stage in funnel
    for shown in (
        "fulfil:order_conversion:ratio_1h",
        "histogram_quantile(0.95, sum by (job, method, route, le)",
        "fulfil_handler_duration_seconds_bucket",
        "fulfil_pay_to_ship_duration_seconds_bucket",
        "fulfil_consumer_lag",
        "fulfil_dead_lettered_total",
        "fulfil_dead_letters_pending",
        "fulfil_outbox_backlog",
        "fulfil_orders_stuck",
    ):
        assert shown in every, f"no panel shows {shown}"


def test_every_query_names_only_metrics_the_services_export() -> None:
    exported = known()
    for title, expr in expressions():
        unknown = metric_names(as_prometheus_sees_it(expr)) - exported
        assert not unknown, f"panel {title!r} queries {unknown}"


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": as_prometheus_sees_it(expr)}
                    for i, (_, expr) in enumerate(expressions())
                ],
            }
        ]
    }
    generated = tmp_path / "dashboard.yml"
    generated.write_text(json.dumps(rules))
    done = subprocess.run(
        [str(promtool()), "check", "rules", str(generated)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_panel_reads_the_provisioned_datasource() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    uid = datasources["datasources"][0]["uid"]
    assert datasources["datasources"][0]["url"] == "http://prometheus:9090"
    for panel in panels():
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert all(target["datasource"]["uid"] == uid for target in panel["targets"])
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/fulfil.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_panel_ids_are_unique_and_laid_out_on_the_grid() -> None:
    every = json.loads(DASHBOARD.read_text())["panels"]
    assert len({p["id"] for p in every}) == len(every)
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in every)


def test_compose_runs_prometheus_and_grafana_pinned_with_what_is_committed() -> None:
    repo = GRAFANA.parents[2]
    compose = yaml.safe_load((repo / "docker-compose.yml").read_text())["services"]
    for name in ("prometheus", "grafana"):
        image = compose[name]["image"]
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", image), f"{name} is not pinned: {image}"
        for volume in compose[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (repo / source).exists(), f"{name} mounts {source}, which is missing"
    mounts = " ".join(compose["grafana"]["volumes"])
    assert "./deploy/monitoring/grafana/provisioning:/etc/grafana/provisioning" in mounts
    assert "./deploy/monitoring/grafana/dashboards:/var/lib/grafana/dashboards" in mounts
    prometheus = " ".join(compose["prometheus"]["volumes"])
    assert "./deploy/monitoring/rules:/etc/prometheus/rules" in prometheus
