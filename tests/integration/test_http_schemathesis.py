"""Property-based checks of all five APIs against their own OpenAPI documents.

Schemathesis generates valid and invalid requests from each document and sends them to
the real service (real database and broker behind it). A run fails on any 5xx, any
status the document does not list, and any body or header that does not match it.
Bounded: a few examples per operation, a fixed seed, a time budget per service.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from shared.runtime import Runtime
from tests.support.http import OPS, SHOP
from tests.support.http_services import all_services
from tests.support.infra import Infra
from tests.support.services import base_url

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    )
)
# The key each service's fuzzing runs with: the one most of its routes accept.
KEYS = {"order": SHOP, "payment": SHOP, "logistics": OPS, "returns": SHOP, "notify": SHOP}
# The sandboxes stand in for a provider's and a courier's own pages: not the platform's API.
EXCLUDE = ["--exclude-path-regex", "^/sandbox/"]
MAX_EXAMPLES = 6
BUDGET_SECONDS = 15


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def services(infra: Infra) -> AsyncIterator[dict[str, Runtime]]:
    async with all_services(infra) as runtimes:
        yield runtimes


@pytest.mark.parametrize("service", sorted(KEYS))
async def test_the_api_answers_only_what_its_openapi_document_says(
    services: dict[str, Runtime], service: str, tmp_path: Path
) -> None:
    url = base_url(services[service])
    (header,) = KEYS[service].items()
    st = str(Path(sys.executable).with_name("st"))
    process = await asyncio.create_subprocess_exec(
        st,
        "run",
        f"{url}/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-time",
        str(BUDGET_SECONDS),
        "--seed",
        "1",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--header",
        f"{header[0]}: {header[1]}",
        "--no-color",
        "--report-dir",
        str(tmp_path),
        *EXCLUDE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    output, _ = await asyncio.wait_for(process.communicate(), BUDGET_SECONDS * 3)
    assert process.returncode == 0, output.decode(errors="replace")[-12000:]
