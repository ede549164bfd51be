from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from workflow_engine.api.rest.app import create_app
from workflow_engine.config import load_settings
from workflow_engine.services.container import Services, build_services

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "user-registration.json"


@pytest.fixture
async def services(db_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    settings = load_settings(database_url=db_url, data_dir=tmp_path, max_definition_bytes=200_000)
    built = await build_services(settings)
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def seed_bytes() -> bytes:
    return EXAMPLE.read_bytes()
