"""Starting the local stack for the demo and the benchmark, with accelerated time.

`deploy.local.stack.Stack.up(extra_env=...)` passes service settings as
`<SERVICE>_<FIELD>` variables. The stack also runs the notify sinks (a local SMTP
server and SMS gateway that keep what they receive).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

# Seconds instead of days: what the live demo runs with (overridable per run).
DEMO_TIMES = {
    "ORDER_PAYMENT_WINDOW_SECONDS": "45",
    "ORDER_AUTO_CONFIRM_SECONDS": "30",
    "LOGISTICS_SANDBOX_AUTO_ADVANCE_SECONDS": "2",
    "LOGISTICS_CHECKPOINT_SILENCE_SECONDS": "60",
    "RETURNS_RETURN_WINDOW_SECONDS": "120",
    "RETURNS_NOT_RECEIVED_AFTER_SECONDS": "5",
    "NOTIFY_REMINDER_OFFSETS_SECONDS": "[10, 25]",
    "NOTIFY_REMINDER_BEFORE_CLOSE_SECONDS": "8",
    "NOTIFY_REMINDER_MIN_GAP_SECONDS": "5",
    "NOTIFY_QUIET_HOURS_START": "00:00",  # no quiet hours in a demo
    "NOTIFY_QUIET_HOURS_END": "00:00",
    "NOTIFY_SENDER_BACKOFF_SECONDS": "1",
    "PAYMENT_REFUND_RETRY_BASE_SECONDS": "1",
}

# The happy path as fast as it goes: everything at once. The outbox relays and the
# notify sender are woken by their tables' NOTIFY, so their polls stay as they are.
BENCH_TIMES = {
    "LOGISTICS_SANDBOX_AUTO_ADVANCE_SECONDS": "0.2",
    "NOTIFY_QUIET_HOURS_START": "00:00",
    "NOTIFY_QUIET_HOURS_END": "00:00",
    "NOTIFY_SENDER_BATCH_SIZE": "200",
}


def start_stack(
    base: Path, extra_env: dict[str, str], *, replicas: int | None = None
) -> tuple[Any, dict[str, Any]]:
    """`Stack(base).up(extra_env)`, restarting services already running there so the
    settings apply; `replicas` instances of each service. Returns the stack and its state
    (stack.json)."""
    from deploy.local.stack import Stack

    stack = Stack(base, replicas=replicas)
    return stack, stack.up(extra_env=extra_env, restart=True)


def service_pids(state: dict[str, Any]) -> dict[str, int]:
    """Every service instance's pid, by instance name (`order`, `order-2`...)."""
    return {
        instance["name"]: int(instance["pid"])
        for name, svc in state["services"].items()
        for instance in svc.get("instances", [{"name": name, **svc}])
    }


def infra_pids(base: Path) -> dict[str, int]:
    """The root pids of the broker, the database and the notify sinks under `base` (for CPU
    and memory): every process of the system but the five services."""
    pids: dict[str, int] = {}
    sinks = base / "run" / "sinks.pid"
    if sinks.exists():
        pids["sinks"] = int(sinks.read_text().strip())
    for pid_file in sorted((base / "kafka").glob("node-*/kafka.pid")):
        pids[f"kafka-{pid_file.parent.name}"] = int(pid_file.read_text().strip())
    for candidate in (
        base / "postgres" / "data" / "postmaster.pid",
        base / "postgres" / "postmaster.pid",
    ):
        if candidate.exists():
            pids["postgres"] = int(candidate.read_text().split()[0])
            break
    return pids
