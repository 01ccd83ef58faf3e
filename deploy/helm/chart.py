"""The chart, rendered and checked offline: `helm lint`, `helm template`, and the core
Kubernetes kinds validated strictly against the schemas `kubernetes-validate` bundles.

    python -m deploy.helm.chart          # lint and validate with the default and production values

helm is built with `go install` the first time (deploy/local/go_tools.py). The operators'
kinds (Strimzi, CloudNativePG, the Prometheus operator) have no bundled schema: they are
declared in `CUSTOM_KINDS`, left out of the strict validation and checked by the chart's
tests instead; any other kind without a schema fails.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from deploy.local.go_tools import go_install

HELM_VERSION = "v3.22.0"
HELM_PACKAGE = "helm.sh/helm/v3/cmd/helm"
CHART = Path(__file__).parent / "fulfil"
PRODUCTION_VALUES = CHART / "values-production.yaml"
KUBERNETES_VERSION = "1.33.0"
CUSTOM_KINDS = frozenset(
    {
        ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
        ("kafka.strimzi.io/v1beta2", "KafkaUser"),
        ("postgresql.cnpg.io/v1", "Cluster"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
    }
)


def ensure_helm(*, background: bool = False) -> Path:
    return go_install("helm", HELM_PACKAGE, HELM_VERSION, background=background)


def _run(cmd: list[str]) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def lint(*values: Path) -> str:
    args = [a for v in values for a in ("-f", str(v))]
    return _run([str(ensure_helm()), "lint", "--strict", str(CHART), *args])


def render(*values: Path, release: str = "shop", namespace: str = "shop") -> list[dict[str, Any]]:
    """The chart's manifests (hooks included) as `helm install` would send them."""
    args = [a for v in values for a in ("-f", str(v))]
    cmd = [str(ensure_helm()), "template", release, str(CHART), "-n", namespace, *args]
    return [doc for doc in yaml.safe_load_all(_run(cmd)) if doc]


def is_custom(doc: dict[str, Any]) -> bool:
    return (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS


def validate_core(docs: list[dict[str, Any]]) -> None:
    """Validates every core resource strictly (no unknown field); raises with the
    validator's report when one fails or has no schema."""
    core = [doc for doc in docs if not is_custom(doc)]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as manifest:
        yaml.safe_dump_all(core, manifest)
        manifest.flush()
        cmd = [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet"]
        cmd += ["-k", KUBERNETES_VERSION, manifest.name]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    report = result.stdout + result.stderr
    if result.returncode != 0 or "WARN" in report or "ERROR" in report:
        raise RuntimeError(f"kubernetes-validate --strict rejected the chart:\n{report}")


def main() -> int:
    for values in ((), (PRODUCTION_VALUES,)):
        lint(*values)
        docs = render(*values)
        validate_core(docs)
        name = values[0].name if values else "values.yaml"
        print(f"{name}: {len(docs)} resources, core kinds valid (strict)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
