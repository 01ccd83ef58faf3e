"""Dead letters for operations: list, show, replay and discard what a service set aside.

A dead letter keeps the bytes it arrived with (shared/consumer.py), so once its cause is
fixed it is replayed in the service that set it aside, through that service's own
`MessageProcessor` pieces: the same decoding, handler table, inbox and outbox. A replay
locks the letter's row for its whole transaction; the handler runs in a savepoint, so a
letter whose handler fails again stays pending with the new error, and one that succeeds
is marked replayed in the same commit as its effects: replaying it again does nothing.
The inbox already holds the letter's id as `dead_lettered`; the replay turns that entry
into `handled` (or adds it), and finds it `handled` when the event was meanwhile handled
some other way, so the handler never runs twice. Every action is recorded with who took
it (the key's role and the actor's name), when and how it ended.

What the routes return is masked: phones, emails and addresses in the message, its key,
its error and the actions' details (shared/masking.py). The bytes as they arrived are
shown only with `?raw=true` and the operations raw key, a permission of its own.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from shared import outbox
from shared.consumer import MessageProcessor, is_transient
from shared.http import (
    BIGINT_MAX,
    ApiError,
    NotFound,
    StorableText,
    Unprocessable,
    require_role,
)
from shared.masking import mask, mask_text
from shared.messages import Poison, RawMessage, decode
from shared.openapi import errors
from shared.unit import Unit


class Unavailable(ApiError):
    status = 503


Status = Literal["pending", "replayed", "discarded"]
ACTOR_HEADER = "X-Ops-Actor"

_COLUMNS = """id, message_id, topic, partition, "offset", event_type, reason, error, attempts,
    status, created_at, updated_at"""


class Who(BaseModel):
    role: str
    actor: str


# A dead letter's reason (`handler_failed`) or event type (`OrderPlaced`): a name, so
# anything else is refused with a 422 naming the field rather than reaching the database.
_NAME = r"^[A-Za-z0-9_.:-]{1,100}$"


class Selection(BaseModel):
    """Which pending letters to replay: all of them (`all`), or those matching every filter
    given."""

    reason: str | None = Field(default=None, pattern=_NAME)
    type: str | None = Field(default=None, pattern=_NAME, description="the letter's event type")
    since: AwareDatetime | None = Field(default=None, description="set aside at or after")
    all: bool = False


class Discard(BaseModel):
    reason: StorableText = Field(min_length=1, max_length=500)


def _letter(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    out["position"] = f"{row['topic']}:{row['partition']}:{row['offset']}"
    return out


async def find(
    conn: asyncpg.Connection,
    *,
    status: str | None = None,
    reason: str | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    after: int = 0,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Letters matching every filter given, oldest first, from the one after id `after`."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM dead_letters
            WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR reason = $2)
              AND ($3::text IS NULL OR event_type = $3)
              AND ($4::timestamptz IS NULL OR created_at >= $4) AND id > $5
            ORDER BY id LIMIT $6""",  # noqa: S608 (a constant column list)
        status,
        reason,
        event_type,
        since,
        after,
        limit,
    )
    return [_letter(row) for row in rows]


def masked(letter: dict[str, Any]) -> dict[str, Any]:
    """The letter with its personal data masked: the message's fields by name when it is
    JSON, else as free text, and any phone or email in its key, error and actions."""
    out = dict(letter)
    if out.get("value") is not None:
        try:
            out["value"] = json.dumps(mask(json.loads(out["value"])), ensure_ascii=False)
        except ValueError:
            out["value"] = mask_text(out["value"])
    for name in ("key", "error"):
        if out.get(name) is not None:
            out[name] = mask_text(out[name])
    if "actions" in out:
        out["actions"] = [{**a, "detail": mask_text(a["detail"] or "")} for a in out["actions"]]
    return out


async def show(conn: asyncpg.Connection, letter_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS}, key, value, header_names FROM dead_letters WHERE id = $1",  # noqa: S608
        letter_id,
    )
    if row is None:
        raise NotFound("unknown_dead_letter", f"no dead letter {letter_id}")
    letter = _letter(row)
    for name in ("key", "value"):
        raw = letter.pop(name)
        letter[name] = None if raw is None else bytes(raw).decode("utf-8", "replace")
    letter["headers"] = letter.pop("header_names") or []
    actions = await conn.fetch(
        """SELECT action, role, actor, outcome, detail, at FROM dead_letter_actions
           WHERE dead_letter_id = $1 ORDER BY id""",
        letter_id,
    )
    letter["actions"] = [dict(a) for a in actions]
    return letter


async def _audit(
    conn: asyncpg.Connection, letter_id: int, action: str, who: Who, outcome: str, detail: str
) -> None:
    await conn.execute(
        """INSERT INTO dead_letter_actions (dead_letter_id, action, role, actor, outcome, detail)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        letter_id,
        action,
        who.role,
        who.actor,
        outcome,
        detail[:2000],
    )


async def _locked(conn: asyncpg.Connection, letter_id: int) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM dead_letters WHERE id = $1 FOR UPDATE", letter_id)
    if row is None:
        raise NotFound("unknown_dead_letter", f"no dead letter {letter_id}")
    return row


async def _reopen_inbox(
    conn: asyncpg.Connection, message_id: str, raw: RawMessage, kind: str
) -> bool:
    """The inbox entry of a replayed message: turned from dead_lettered into handled (or
    added); False when the message was already handled (nothing to do again)."""
    return bool(
        await conn.fetchval(
            """INSERT INTO inbox (message_id, topic, partition, "offset", event_type, outcome)
               VALUES ($1, $2, $3, $4, $5, 'handled')
               ON CONFLICT (message_id) DO UPDATE SET outcome = 'handled'
               WHERE inbox.outcome = 'dead_lettered' RETURNING true""",
            message_id,
            raw.topic,
            raw.partition,
            raw.offset,
            kind,
        )
    )


async def _rerun(
    conn: asyncpg.Connection,
    processor: MessageProcessor,
    row: asyncpg.Record,
    handled: list[Unit[Any]],
) -> str:
    if row["value"] is None:
        raise Poison("not_replayable", "this letter was set aside before its bytes were kept")
    headers = tuple(zip(row["header_names"] or (), row["header_values"] or (), strict=True))
    raw = RawMessage(
        row["topic"], row["partition"], row["offset"], row["key"], row["value"], headers
    )
    incoming = decode(raw)
    handler = processor.handlers.get(type(incoming.payload))
    if handler is None:
        return "ignored"
    envelope = incoming.envelope
    if not await _reopen_inbox(conn, str(envelope.event_id), raw, envelope.type):
        return "duplicate"
    unit = processor.units.on(
        conn, correlation_id=envelope.correlation_id, causation_id=str(envelope.event_id)
    )
    await handler(unit, incoming)
    await outbox.add_many(conn, unit.outgoing)
    handled.append(unit)
    return "handled"


async def replay(processor: MessageProcessor, letter_id: int, who: Who) -> dict[str, Any]:
    """Replays one letter; returns `{"id", "outcome", "status", "error"}`. What the
    handler counts is counted once the replay has committed."""
    handled: list[Unit[Any]] = []
    result = await _replay(processor, letter_id, who, handled)
    for unit in handled:
        unit.commit_done()
    return result


async def _replay(
    processor: MessageProcessor, letter_id: int, who: Who, handled: list[Unit[Any]]
) -> dict[str, Any]:
    async with processor.pool.acquire() as conn, conn.transaction():
        row = await _locked(conn, letter_id)
        if row["status"] != "pending":
            await _audit(conn, letter_id, "replay", who, "skipped", f"already {row['status']}")
            return {"id": letter_id, "outcome": "skipped", "status": row["status"], "error": None}
        try:
            async with conn.transaction():  # a savepoint: a failing handler leaves no effect
                outcome = await _rerun(conn, processor, row, handled)
        except Poison as poison:
            handled.clear()  # rolled back to the savepoint: nothing of it is counted
            error = f"{poison.reason}: {poison.detail}"
        except Exception as exc:
            handled.clear()
            if is_transient(exc):
                raise
            error = repr(exc)
        else:
            await conn.execute(
                "UPDATE dead_letters SET status = 'replayed', updated_at = now() WHERE id = $1",
                letter_id,
            )
            await _audit(conn, letter_id, "replay", who, outcome, "")
            return {"id": letter_id, "outcome": outcome, "status": "replayed", "error": None}
        await conn.execute(
            """UPDATE dead_letters SET error = $2, attempts = attempts + 1, updated_at = now()
               WHERE id = $1""",
            letter_id,
            error,
        )
        await _audit(conn, letter_id, "replay", who, "failed", error)
        return {"id": letter_id, "outcome": "failed", "status": "pending", "error": error}


async def discard(pool: asyncpg.Pool, letter_id: int, who: Who, reason: str) -> dict[str, Any]:
    async with pool.acquire() as conn, conn.transaction():
        row = await _locked(conn, letter_id)
        if row["status"] == "pending":
            await conn.execute(
                "UPDATE dead_letters SET status = 'discarded', updated_at = now() WHERE id = $1",
                letter_id,
            )
            outcome = "discarded"
        else:
            outcome = "skipped"
        await _audit(conn, letter_id, "discard", who, outcome, reason)
        status = "discarded" if outcome == "discarded" else row["status"]
        return {"id": letter_id, "outcome": outcome, "status": status}


router = APIRouter(prefix="/ops/dead-letters", tags=["operations"])
LetterId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
Actor = Annotated[
    str, Header(alias=ACTOR_HEADER, pattern=r"^[\w.@ -]{1,100}$", description="who acts")
]


def _who(request: Request, actor: str) -> Who:
    require_role(request, "ops")
    return Who(role="ops", actor=actor)


def _processor(request: Request) -> MessageProcessor:
    processor = getattr(request.app.state.runtime, "processor", None)
    if processor is None:
        raise Unavailable("not_consuming", "this service's consumer is not running yet")
    assert isinstance(processor, MessageProcessor)
    return processor


@router.get("", responses=errors(401, 403, 422, 503))
async def list_letters(
    request: Request,
    status: Status | None = None,
    reason: Annotated[str | None, Query(pattern=_NAME)] = None,
    type: Annotated[str | None, Query(pattern=_NAME)] = None,
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """The service's dead letters, oldest first, filtered by status, reason, type and time."""
    require_role(request, "ops")
    runtime = request.app.state.runtime
    async with runtime.db.acquire() as conn:
        found = await find(
            conn, status=status, reason=reason, event_type=type, since=since, limit=limit
        )
    return {"service": runtime.name, "dead_letters": [masked(letter) for letter in found]}


@router.get("/{letter_id}", responses=errors(401, 403, 404, 503))
async def show_letter(
    letter_id: LetterId,
    request: Request,
    raw: Annotated[
        bool, Query(description="the message unmasked: needs the operations raw key")
    ] = False,
) -> dict[str, Any]:
    """One letter with its original message (personal data masked) and every action taken
    on it."""
    require_role(request, "ops_raw") if raw else require_role(request, "ops")
    runtime = request.app.state.runtime
    async with runtime.db.acquire() as conn:
        letter = await show(conn, letter_id)
    return {"service": runtime.name, **(letter if raw else masked(letter))}


@router.post("/{letter_id}/replay", responses=errors(401, 403, 404, 503))
async def replay_letter(letter_id: LetterId, request: Request, actor: Actor = "unnamed") -> Any:
    """Replays one letter in this service; a letter already replayed or discarded is left
    as it is (outcome `skipped`)."""
    return await replay(_processor(request), letter_id, _who(request, actor))


@router.post("/replay", responses=errors(400, 401, 403, 422, 503))
async def replay_selection(body: Selection, request: Request, actor: Actor = "unnamed") -> Any:
    """Replays every pending letter matching the selection, oldest first, one by one, each
    once (one that fails again stays pending and is not tried again in this call)."""
    who = _who(request, actor)
    if not body.all and body.reason is None and body.type is None and body.since is None:
        field = {"field": "all", "message": "name a reason, type or since, or set all"}
        raise Unprocessable("empty_selection", "nothing selected", fields=[field])
    processor = _processor(request)
    results: list[dict[str, Any]] = []
    while True:  # page by id: each matching letter is tried once, a failed one included
        async with processor.pool.acquire() as conn:
            chosen = await find(
                conn,
                status="pending",
                reason=body.reason,
                event_type=body.type,
                since=body.since,
                after=results[-1]["id"] if results else 0,
            )
        if not chosen:
            break
        results.extend([await replay(processor, letter["id"], who) for letter in chosen])
    return {"service": request.app.state.runtime.name, "results": results}


@router.post("/{letter_id}/discard", responses=errors(400, 401, 403, 404, 422, 503))
async def discard_letter(
    letter_id: LetterId, body: Discard, request: Request, actor: Actor = "unnamed"
) -> Any:
    """Sets a pending letter aside for good, with the reason recorded."""
    who = _who(request, actor)
    return await discard(request.app.state.runtime.db, letter_id, who, body.reason)
