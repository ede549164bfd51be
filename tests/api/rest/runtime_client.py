"""A REST client over services wired to Temporal with the workflow double (see tests/services)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.services.support import SEED
from workflow_engine.api.rest.app import create_app
from workflow_engine.services.container import Services

JSON = {"content-type": "application/json"}


@pytest.fixture
async def api(engine_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app over `engine_services`."""
    transport = httpx.ASGITransport(app=create_app(engine_services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def deploy_seed(api: httpx.AsyncClient) -> dict[str, Any]:
    """Deploy the seed example through the API."""
    response = await api.post("/api/v1/definitions", content=SEED.read_bytes(), headers=JSON)
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def error(response: httpx.Response) -> dict[str, Any]:
    """The `error` object of an error answer."""
    body: dict[str, Any] = response.json()["error"]
    return body
