"""Runs a micro-benchmark on the code of another revision: its directories (`shared`,
`services`) from `git archive`, first on the path of a child process that imports this
tree's tests, whose last line of output is its figures as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def figures_at(rev: str, dirs: Sequence[str], module: str, args: Sequence[str]) -> dict[str, float]:
    """`python -m module *args` on the code of `rev` for `dirs`; the figures it printed."""
    with tempfile.TemporaryDirectory() as tree:
        archive = subprocess.run(
            ["git", "archive", rev, *dirs], cwd=REPO, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        out = subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=tree,  # its own `dirs` come first on the path
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return dict(json.loads(out.splitlines()[-1]))
