"""The published contract, served by every service next to /openapi.json.

`GET /asyncapi.json` is the AsyncAPI 3.0 document of every topic; `GET
/schemas/{type}/{version}` the JSON Schema of one event type's payload at one major
version. Both are generated from the code on first request (the same documents as the
committed ones under docs/), so a running service always describes what it speaks.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse

from shared.contracts.schemas import schema_of

router = APIRouter(tags=["contracts"])


@cache
def _asyncapi() -> dict[str, Any]:
    from shared.contracts.asyncapi import asyncapi_document

    return asyncapi_document()


@router.get("/asyncapi.json", include_in_schema=False)
async def asyncapi() -> JSONResponse:
    return JSONResponse(_asyncapi())


@router.get("/schemas/{event_type}/{version}", include_in_schema=False)
async def event_schema(event_type: str, version: int) -> JSONResponse:
    schema = schema_of(event_type, version)
    if schema is None:
        raise HTTPException(404, f"no event {event_type!r} at schema version {version}")
    return JSONResponse(schema, media_type="application/schema+json")
