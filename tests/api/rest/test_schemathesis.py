"""schemathesis over the whole OpenAPI of the real app finds no server error (issue 15, item 4).

The REST app is served by uvicorn on a free port over a real database, with a worker on the
session's Temporal dev server, once with authentication off and once on (an admin token).
The schemathesis CLI (v4) runs its coverage phase (boundary values: huge integers, long
strings, odd dates, NUL bytes) and a bounded, seeded fuzzing phase against it, checking
`not_a_server_error` on every operation. Deterministic: fixed seed, deterministic generation,
no example database.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from tests.api.live_engine import running_engine
from tests.api.rest.conftest import EXAMPLE
from tests.api.rest.served import served
from workflow_engine.api.rest.app import create_app
from workflow_engine.security.tokens import mint_token
from workflow_engine.services.definition_source import DefinitionFormat

SECRET = "schemathesis-test-secret-0123456789abcdef"

#: Examples per operation in the fuzzing phase: enough to vary every field, small enough for
#: a few minutes of CI on two cores.
MAX_EXAMPLES = 8

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


async def _run_schemathesis(base_url: str, workdir: Path, *headers: str) -> tuple[int, str]:
    args = [
        str(SCHEMATHESIS),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--phases",
        "coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "15",
        "--generation-deterministic",
        "--workers",
        "1",
        "--no-shrink",
        "--continue-on-failure",
        "--request-timeout",
        "30",
        # Live streams (SSE) never end by design: each call would only wait for the timeout.
        # tests/api/rest/test_streams.py covers them.
        "--exclude-path-regex",
        "/stream$",
    ]
    for header in headers:
        args += ["--header", header]
    process = await asyncio.create_subprocess_exec(
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"NO_COLOR": "1", "PATH": str(SCHEMATHESIS.parent), "COLUMNS": "200"},
        cwd=workdir,  # its cache directory (.schemathesis) lands there, not in the checkout
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=900)
    return process.returncode or 0, output.decode("utf-8", "replace")


@pytest.mark.parametrize("auth", [False, True], ids=["auth-off", "auth-on"])
async def test_no_operation_answers_a_server_error(
    db_url: str, tmp_path: Path, temporal_client: Client, auth: bool
) -> None:
    overrides: dict[str, Any] = {"auth_enabled": True, "auth_jwt_secret": SECRET} if auth else {}
    async with running_engine(db_url, tmp_path, temporal_client, **overrides) as services:
        # Something to find: the seed definition, so ids and keys in paths can hit real rows.
        await services.definitions.deploy(EXAMPLE.read_bytes(), fmt=DefinitionFormat.JSON)
        headers = []
        if auth:
            token = mint_token(secret=SECRET, user_id="schemathesis", roles=["admin"])
            headers.append(f"Authorization: Bearer {token}")
        async with served(create_app(services)) as base_url:
            code, output = await _run_schemathesis(base_url, tmp_path, *headers)
    (tmp_path / "schemathesis.txt").write_text(output)
    assert code == 0, output[-20000:]
    # It really ran: every operation of the document (less the streams) in both phases.
    assert "Coverage" in output and "Fuzzing" in output, output
    assert "0 selected" not in output, output
