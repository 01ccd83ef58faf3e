"""`fulfil dlq`: a service's dead letters, through its ops API (`/ops/dead-letters`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from fulfil.config import Config, OpsError
from fulfil.masking import mask, mask_text
from fulfil.ops_api import call
from fulfil.output import console, emit_json, table
from shared.contracts.registry import SERVICES

_SERVICE = click.option(
    "--service", required=True, type=click.Choice(SERVICES), help="the service that set it aside"
)
_JSON = click.option("--json", "as_json", is_flag=True, help="JSON for scripts")
_BASE = "/ops/dead-letters"


@click.group()
def dlq() -> None:
    """Dead letters: list, show, replay and discard."""


@dlq.command("list")
@_SERVICE
@click.option("--status", type=click.Choice(["pending", "replayed", "discarded"]))
@click.option("--reason", help="only this reason (handler_failed, undecodable, ...)")
@click.option("--type", "event_type", help="only this event type")
@click.option("--since", type=click.DateTime(), help="set aside at or after (UTC)")
@_JSON
@click.pass_obj
def list_(
    config: Config,
    service: str,
    status: str | None,
    reason: str | None,
    event_type: str | None,
    since: datetime | None,
    as_json: bool,
) -> None:
    """The service's dead letters, oldest first."""
    params = {"status": status, "reason": reason, "type": event_type, "since": _utc(since)}
    found = call(config, service, "GET", _BASE, params={k: v for k, v in params.items() if v})
    letters = found["dead_letters"]
    if as_json:
        emit_json(letters)
        return
    columns = ("id", "status", "reason", "type", "attempts", "position", "set aside", "error")
    rows = [
        (
            x["id"],
            x["status"],
            x["reason"],
            x["event_type"] or "-",
            x["attempts"],
            x["position"],
            x["created_at"],
            _short(x["error"]),
        )
        for x in letters
    ]
    table(f"dead letters of {service}", columns, rows)


@dlq.command()
@_SERVICE
@click.argument("letter_id", type=click.IntRange(min=1))
@_JSON
@click.pass_obj
def show(config: Config, service: str, letter_id: int, as_json: bool) -> None:
    """One letter: where it came from, why, its message (masked) and every action on it."""
    letter = call(config, service, "GET", f"{_BASE}/{letter_id}")
    letter["value"] = _masked_message(letter.get("value"))
    if as_json:
        emit_json(letter)
        return
    for name in ("id", "status", "reason", "event_type", "attempts", "position", "message_id"):
        console.out(f"{name:>11}: {letter.get(name)}", highlight=False)
    console.out(f"{'set aside':>11}: {letter['created_at']}", highlight=False)
    console.out(f"{'error':>11}: {mask_text(letter['error'])}", highlight=False)
    console.out(f"{'message':>11}: {json.dumps(letter['value'], default=str)}", highlight=False)
    rows = [
        (a["at"], a["action"], f"{a['actor']} ({a['role']})", a["outcome"], a["detail"])
        for a in letter["actions"]
    ]
    table("actions", ("when", "action", "who", "outcome", "detail"), rows)


@dlq.command()
@_SERVICE
@click.argument("letter_ids", nargs=-1, type=click.IntRange(min=1))
@click.option("--reason", help="every pending letter with this reason")
@click.option("--type", "event_type", help="every pending letter of this event type")
@click.option("--since", type=click.DateTime(), help="every pending letter since (UTC)")
@click.option("--all", "everything", is_flag=True, help="every pending letter")
@_JSON
@click.pass_obj
def replay(
    config: Config,
    service: str,
    letter_ids: tuple[int, ...],
    reason: str | None,
    event_type: str | None,
    since: datetime | None,
    everything: bool,
    as_json: bool,
) -> None:
    """Replay letters in the service that set them aside: by id, a selection, or --all.
    A letter already replayed is left alone; one that fails again stays pending."""
    selected = everything or reason or event_type or since
    if letter_ids and selected:
        raise OpsError("name letter ids or a selection (--reason/--type/--since/--all), not both")
    if letter_ids:
        results = [
            call(config, service, "POST", f"{_BASE}/{letter_id}/replay") for letter_id in letter_ids
        ]
    elif selected:
        body = {"reason": reason, "type": event_type, "since": _utc(since), "all": everything}
        results = call(config, service, "POST", f"{_BASE}/replay", json=body)["results"]
    else:
        raise OpsError("name letter ids, or select with --reason, --type, --since or --all")
    _results(results, as_json)
    if any(r["outcome"] == "failed" for r in results):
        raise SystemExit(1)


@dlq.command()
@_SERVICE
@click.argument("letter_id", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="why it is set aside for good (recorded)")
@_JSON
@click.pass_obj
def discard(config: Config, service: str, letter_id: int, reason: str, as_json: bool) -> None:
    """Set a pending letter aside for good, with the reason recorded."""
    result = call(config, service, "POST", f"{_BASE}/{letter_id}/discard", json={"reason": reason})
    _results([result], as_json)


def _results(results: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        emit_json(results)
        return
    rows = [(r["id"], r["outcome"], r["status"], _short(r.get("error"))) for r in results]
    table("results", ("id", "outcome", "status", "error"), rows)


def _masked_message(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return mask(json.loads(value))
    except ValueError:
        return mask_text(value)


def _short(text: str | None, limit: int = 80) -> str:
    if not text:
        return ""
    text = mask_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _utc(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat() + ("" if moment.tzinfo else "+00:00")
