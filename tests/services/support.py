"""Helpers of the service tests: definitions to deploy and waiting for the projection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from workflow_engine.services.container import Services
from workflow_engine.services.definition_source import DefinitionFormat

SEED = Path(__file__).resolve().parents[2] / "examples" / "user-registration.json"
SEED_VARIABLES = {"user_id": "u1", "email": "u1@example.com", "username": "user one"}

_T = TypeVar("_T")


def message_start_definition(key: str = "payments", message: str = "paid") -> dict[str, Any]:
    """A process started by message `message` (definition id `msg_<message>`)."""
    return {
        "process": {"id": key, "key": key, "name": key, "executable": True},
        "elements": [
            {
                "id": "start_by_message",
                "type": "startEvent",
                "config": {"message_ref": f"msg_{message}"},
                "outgoing": ["end"],
            },
            {"id": "end", "type": "endEvent", "incoming": ["start_by_message"]},
        ],
        "message_definitions": [{"id": f"msg_{message}", "name": message}],
    }


async def deploy_seed(services: Services) -> int:
    """Deploy the seed example; return its definition id."""
    result = await services.definitions.deploy(SEED.read_bytes(), fmt=DefinitionFormat.JSON)
    return result.definition.id


async def deploy_document(services: Services, document: dict[str, Any]) -> int:
    """Deploy a JSON document; return its definition id."""
    body = json.dumps(document).encode()
    result = await services.definitions.deploy(body, fmt=DefinitionFormat.JSON)
    return result.definition.id


async def eventually(
    probe: Callable[[], Awaitable[_T]],
    accept: Callable[[_T], bool],
    *,
    within: float = 15.0,
) -> _T:
    """Poll `probe` until `accept` holds for its value (the projection is asynchronous)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await probe()
        if accept(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached within {within}s; last value: {value!r}")
        await asyncio.sleep(0.1)
