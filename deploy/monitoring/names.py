"""Which metric names the rules and dashboards may query, and which ones they do.

A name may be queried when the code declares it (a `Counter`/`Gauge`/`Histogram` of
`shared/` or `services/`), when a recording rule of `rules/` makes it, or when Prometheus
makes it itself (`up`). Histograms add `_bucket`, `_count` and `_sum`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RULES = HERE / "rules"

FROM_PROMETHEUS = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
HISTOGRAM_SERIES = ("_bucket", "_count", "_sum")
DECLARED = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"(fulfil_\w+)\"")
RECORDED = re.compile(r"^\s*-\s*record:\s*(\S+)", re.MULTILINE)
KEYWORDS = {"and", "or", "unless", "offset", "bool", "inf", "nan", "atan2"}


def declared_in_code(roots: Iterable[Path] = (REPO / "shared", REPO / "services")) -> set[str]:
    names: set[str] = set()
    for root in roots:
        for path in root.rglob("*.py"):
            for kind, name in DECLARED.findall(path.read_text()):
                names.update(_series(kind.lower(), name))
    return names


def recorded() -> set[str]:
    return {name for path in RULES.glob("*.yml") for name in RECORDED.findall(path.read_text())}


def known() -> set[str]:
    return declared_in_code() | recorded() | FROM_PROMETHEUS


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not its functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    found = re.findall(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", text)
    return {name for name in found if name.lower() not in KEYWORDS}


def _series(kind: str, name: str) -> set[str]:
    if kind == "histogram":
        return {name, *(name + suffix for suffix in HISTOGRAM_SERIES)}
    return {name}
