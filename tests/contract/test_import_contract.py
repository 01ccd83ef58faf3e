"""No service imports another; shared imports no service. Fails the build otherwise."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared.contracts.registry import SERVICES

REPO = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") == "__import__"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return found


def owner(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "services" else None


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    offending = []
    for path in sorted((REPO / "services" / service).rglob("*.py")):
        for module in imported_modules(path):
            other = owner(module)
            if other is not None and other != service:
                offending.append(f"{path.relative_to(REPO)} imports {module}")
    assert not offending, offending


def test_shared_imports_no_service() -> None:
    offending = [
        f"{path.relative_to(REPO)} imports {module}"
        for path in sorted((REPO / "shared").rglob("*.py"))
        for module in imported_modules(path)
        if module == "services" or module.startswith("services.")
    ]
    assert not offending, offending


def test_the_check_catches_a_cross_service_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from services.payment.domain import x\n")
    assert owner(next(iter(imported_modules(bad)))) == "payment"
