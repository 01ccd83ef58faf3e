"""deploy/helm/fulfil: the chart lints, renders, and its core resources validate strictly
offline (kubernetes-validate's bundled schemas) with the default and the production values;
every service gets what a cluster needs to run it; the operators' resources have the shape
their operators read, and the Kafka ones say what the topic registry says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.helm import chart, generate
from shared.contracts.registry import SERVICES, TOPICS
from shared.kafka.groups import service_groups

VALUES = {"default": (), "production": (chart.PRODUCTION_VALUES,)}
Docs = list[dict[str, Any]]


@pytest.fixture(scope="module", params=sorted(VALUES))
def rendered(request: pytest.FixtureRequest) -> Docs:
    values = VALUES[request.param]
    chart.lint(*values)
    return chart.render(*values)


def of_kind(docs: Docs, kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def component(doc: dict[str, Any]) -> str:
    return str(doc["metadata"]["labels"]["app.kubernetes.io/component"])


def services_only(docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The five services' resources, without the web pages' (test_the_web_pages_...)."""
    return {name: d for name, d in docs.items() if component(d) != "web"}


def test_core_resources_validate_strictly_against_the_kubernetes_schemas(rendered: Docs) -> None:
    chart.validate_core(rendered)
    kinds = {(d["apiVersion"], d["kind"]) for d in rendered}
    assert kinds - chart.CUSTOM_KINDS, "no core resource rendered"


def test_a_kind_without_a_schema_is_refused_unless_declared() -> None:
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    with pytest.raises(RuntimeError, match="Couldn't find schema"):
        chart.validate_core([unknown])


def test_an_unknown_field_fails_the_strict_validation(rendered: Docs) -> None:
    deployment = next(iter(of_kind(rendered, "Deployment").values()))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(RuntimeError, match="readinessprobe"):
        chart.validate_core([deployment])


def test_every_service_runs_with_probes_resources_a_pdb_an_hpa_and_a_service(
    rendered: Docs,
) -> None:
    found = services_only(of_kind(rendered, "Deployment")).values()
    deployments = {component(d): d for d in found}
    assert sorted(deployments) == sorted(SERVICES)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["command"] == ["python", "-m", f"services.{name}"]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        selector = deployment["spec"]["selector"]["matchLabels"]
        (pdb,) = [
            d for d in of_kind(rendered, "PodDisruptionBudget").values() if component(d) == name
        ]
        assert pdb["spec"]["selector"]["matchLabels"] == selector
        (hpa,) = [
            d for d in of_kind(rendered, "HorizontalPodAutoscaler").values() if component(d) == name
        ]
        assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        (svc,) = [d for d in of_kind(rendered, "Service").values() if component(d) == name]
        assert svc["spec"]["selector"] == selector
        assert svc["metadata"]["labels"]["fulfil.io/service"] == name


def test_secrets_and_the_database_url_are_files_read_through_name_file(rendered: Docs) -> None:
    for deployment in services_only(of_kind(rendered, "Deployment")).values():
        prefix = component(deployment).upper()
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env[f"{prefix}_DATABASE_URL_FILE"] == "/etc/fulfil/database/dsn"
        files = {k: v for k, v in env.items() if k.endswith("_FILE")}
        mounts = [m["mountPath"] for m in container["volumeMounts"]]
        assert all(any(str(path).startswith(m + "/") for m in mounts) for path in files.values())
        assert not any("SECRET" in k or "KEY" in k for k in env if not k.endswith("_FILE"))


def test_production_takes_its_secrets_from_secrets_it_does_not_create() -> None:
    docs = chart.render(chart.PRODUCTION_VALUES)
    assert not of_kind(docs, "Secret")
    for deployment in of_kind(docs, "Deployment").values():  # the web pages' too
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert volumes["secrets"]["secret"]["secretName"] == f"fulfil-{component(deployment)}"
    configs = {component(c): c["data"] for c in of_kind(docs, "ConfigMap").values()}
    assert all(data[f"{name.upper()}_ENV"] == "production" for name, data in configs.items())


def test_migrations_run_in_a_hook_job_before_the_rollout(rendered: Docs) -> None:
    jobs = {component(j).removesuffix("-migrate"): j for j in of_kind(rendered, "Job").values()}
    assert sorted(jobs) == sorted(SERVICES)
    configs = {component(c): c["data"] for c in of_kind(rendered, "ConfigMap").values()}
    for name, job in jobs.items():
        # the databases and Secrets come with the release: a first install migrates once
        # they exist; an upgrade migrates before the new pods roll out
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", f"services.{name}", "migrate"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        # the settings being installed, not the ConfigMap of the previous revision
        assert configs[name].items() <= env.items()
        assert "envFrom" not in container


def render_with(tmp_path: Path, values: dict[str, Any]) -> Docs:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    docs = chart.render(path)
    chart.validate_core(docs)
    return docs


def test_external_databases_read_their_dsn_from_a_secret_of_the_release(tmp_path: Path) -> None:
    dsns = {s: f"postgresql://u:p@db/{s}" for s in SERVICES}
    docs = render_with(tmp_path, {"database": {"mode": "external", "external": {"dsn": dsns}}})
    assert not of_kind(docs, "Cluster")
    (secret,) = of_kind(docs, "Secret").values()
    assert secret["stringData"] == dsns
    for job in of_kind(docs, "Job").values():  # that Secret exists only after install
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"


def test_with_everything_it_mounts_made_beforehand_migrations_run_before_install(
    tmp_path: Path,
) -> None:
    services = {
        s: {"existingSecret": f"fulfil-{s}", "secretKeys": ["ops_api_key"]} for s in SERVICES
    }
    docs = render_with(
        tmp_path,
        {
            "services": services,
            "database": {"mode": "external", "external": {"existingSecret": "dsns"}},
        },
    )
    assert not of_kind(docs, "Secret")
    for job in of_kind(docs, "Job").values():
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
        assert volumes["database"]["secret"]["secretName"] == "dsns"


def test_every_service_has_its_own_cloudnativepg_cluster(rendered: Docs) -> None:
    clusters = of_kind(rendered, "Cluster")
    assert sorted(c["spec"]["bootstrap"]["initdb"]["database"] for c in clusters.values()) == (
        sorted(SERVICES)
    )
    for name, cluster in clusters.items():
        assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
        assert isinstance(cluster["spec"]["instances"], int) and cluster["spec"]["instances"] >= 1
        assert cluster["spec"]["storage"]["size"]
        service = cluster["spec"]["bootstrap"]["initdb"]["owner"]
        deployment = next(
            d for d in of_kind(rendered, "Deployment").values() if component(d) == service
        )
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert volumes["database"]["secret"] == {
            "secretName": f"{name}-app",
            "items": [{"key": "uri", "path": "dsn"}],
        }


def test_the_service_monitor_scrapes_metrics_with_the_service_as_job(rendered: Docs) -> None:
    (monitor,) = of_kind(rendered, "ServiceMonitor").values()
    spec = monitor["spec"]
    assert spec["jobLabel"] == "fulfil.io/service"
    assert spec["endpoints"] == [
        {"port": "http", "path": "/metrics", "interval": "15s", "scrapeTimeout": "10s"}
    ]
    services = of_kind(rendered, "Service").values()
    assert all(
        spec["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items() for s in services
    )


def test_the_kafka_topics_are_the_registry(rendered: Docs) -> None:
    topics = {t["spec"]["topicName"]: t for t in of_kind(rendered, "KafkaTopic").values()}
    assert sorted(topics) == sorted(t.name for t in TOPICS)
    for declared in TOPICS:
        resource = topics[declared.name]
        assert resource["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert resource["metadata"]["labels"]["strimzi.io/cluster"] == "fulfil"
        assert resource["spec"]["partitions"] == declared.partitions
        assert isinstance(resource["spec"]["replicas"], int)
        config = resource["spec"]["config"]
        assert declared.kafka_config().items() <= config.items()
        assert all(isinstance(v, str) for v in config.values())


def test_each_service_may_write_what_it_produces_and_read_what_it_consumes(
    rendered: Docs,
) -> None:
    users = {component(u): u for u in of_kind(rendered, "KafkaUser").values()}
    assert sorted(users) == sorted([*SERVICES, "operations"])
    users.pop("operations")
    for service, user in users.items():
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == "fulfil"
        authorization = user["spec"]["authorization"]
        assert authorization["type"] == "simple"
        granted = {
            (a["resource"]["type"], a["resource"].get("name"), op)  # the cluster has no name
            for a in authorization["acls"]
            for op in a["operations"]
        }
        writes = {name for kind, name, op in granted if kind == "topic" and op == "Write"}
        reads = {name for kind, name, op in granted if kind == "topic" and op == "Read"}
        groups = {
            (a["resource"]["name"], a["resource"]["patternType"])
            for a in authorization["acls"]
            if a["resource"]["type"] == "group"
        }
        assert writes == {t.name for t in TOPICS if t.producer == service}
        assert f"deadletter.{service}.v1" in writes
        assert reads == {t.name for t in TOPICS if service in t.consumers}
        # every group of the service (faust's, the consumer's, a replica's suffix) starts so
        assert groups == {(f"fulfil-{service}", "prefix")}
        assert all(
            g.startswith(f"fulfil-{service}") for g in service_groups(service).topics_by_group()
        )
        assert {op for _, _, op in granted} <= {"Read", "Write", "Describe", "IdempotentWrite"}


def test_the_operations_user_reads_every_topic_describes_every_group_writes_nothing(
    rendered: Docs,
) -> None:
    user = of_kind(rendered, "KafkaUser")["fulfil-operations"]
    granted = {
        (a["resource"]["type"], a["resource"]["name"], op)
        for a in user["spec"]["authorization"]["acls"]
        for op in a["operations"]
    }
    assert {(kind, op) for kind, _, op in granted} == {
        ("topic", "Read"),
        ("topic", "Describe"),
        ("group", "Describe"),
    }
    assert {name for kind, name, op in granted if kind == "topic"} == {t.name for t in TOPICS}
    groups = {g for s in SERVICES for g in service_groups(s).topics_by_group()}
    assert {name for kind, name, _ in granted if kind == "group"} == groups


def test_the_committed_kafka_file_is_generated_from_the_registry() -> None:
    assert generate.main(["--check"]) == 0, "run python -m deploy.helm.generate"


def test_a_stale_kafka_file_fails_the_check_until_generated_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "kafka.yaml"
    stale.write_text(generate.OUTPUT.read_text().replace("partitions: 6", "partitions: 5", 1))
    monkeypatch.setattr(generate, "OUTPUT", stale)
    assert generate.main(["--check"]) == 1
    assert generate.main([]) == 0
    assert generate.main(["--check"]) == 0


def test_a_misspelt_value_is_refused_by_the_values_schema(tmp_path: Path) -> None:
    typo = tmp_path / "typo.yaml"
    typo.write_text(yaml.safe_dump({"services": {"order": {"existingSecrets": "fulfil-order"}}}))
    with pytest.raises(RuntimeError, match="existingSecrets"):
        chart.lint(typo)


def test_the_web_pages_run_beside_the_services_reaching_them_through_their_services(
    rendered: Docs,
) -> None:
    (web,) = [d for d in of_kind(rendered, "Deployment").values() if component(d) == "web"]
    pod = web["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "web"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"]: e.get("value") for e in container["env"]}
    services = {d["metadata"]["name"]: d for d in of_kind(rendered, "Service").values()}
    order = next(name for name, d in services.items() if component(d) == "order")
    assert env["WEB_ORDER_URL"] == f"http://{order}:8080"
    assert not any("DATABASE" in k or "KAFKA" in k for k in env), "a client of the APIs only"
    assert not any("SECRET" in k or "KEY" in k for k in env if not k.endswith("_FILE"))
    (svc,) = [d for d in of_kind(rendered, "Service").values() if component(d) == "web"]
    assert svc["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]


def test_three_topic_replicas_are_cluster_mode_with_two_in_sync(tmp_path: Path) -> None:
    docs = render_with(tmp_path, {"kafka": {"topics": {"replicas": 3}}})
    topics = of_kind(docs, "KafkaTopic").values()
    assert topics
    assert {t["spec"]["replicas"] for t in topics} == {3}
    assert {t["spec"]["config"]["min.insync.replicas"] for t in topics} == {"2"}
    single = of_kind(render_with(tmp_path, {}), "KafkaTopic").values()
    assert all("min.insync.replicas" not in t["spec"]["config"] for t in single)
