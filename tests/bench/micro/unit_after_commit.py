"""CPU per unit of work for the after-commit callbacks that business counters use.

    .venv/bin/python -m tests.bench.micro.unit_after_commit [--units 200000]

Makes units as the consumer does (`Units.on`), each bumping one labelled counter: bumped
directly (what counting inside the transaction costs) and through `after_commit` then
`commit_done` (what the consumer runs after its commit). A checkout without the hook (an
older tree on PYTHONPATH) shows the unit alone. Pure CPU: no broker, no database.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from shared.unit import Units


def per_unit(units: int, *, hook: bool, count: bool) -> float:
    """Nanoseconds of CPU per unit made (and counted, when `count`)."""
    bump = Counter("bench_total", "", ["kind"], registry=CollectorRegistry()).labels("x").inc
    made: Units[Any] = Units("bench", None)
    conn: Any = None
    started = time.process_time_ns()
    for _ in range(units):
        unit = made.on(conn, correlation_id="c", causation_id="e")
        if count and hook:
            unit.after_commit(bump)
        elif count:
            bump()
        if hook:
            unit.commit_done()
    return (time.process_time_ns() - started) / units


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=200_000)
    args = parser.parse_args()
    hook = hasattr(Units("x", None).on(None), "after_commit")
    per_unit(10_000, hook=hook, count=False)  # warm-up
    print(
        f"unit alone{' (+ commit_done)' if hook else ''}: "
        f"{per_unit(args.units, hook=hook, count=False):.0f} ns"
    )
    print(f"unit + counter bumped inside: {per_unit(args.units, hook=False, count=True):.0f} ns")
    if hook:
        print(f"unit + after_commit counter: {per_unit(args.units, hook=True, count=True):.0f} ns")


if __name__ == "__main__":
    main()
