"""Fixtures shared by the service tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from workflow_engine.config import load_settings
from workflow_engine.services.container import Services, build_services


@pytest.fixture
async def services(db_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    """Services over the test database (SQLite and PostgreSQL), without Temporal or Redis.

    A module that needs other settings defines its own `services` fixture, which wins.
    """
    built = await build_services(load_settings(database_url=db_url, data_dir=tmp_path))
    try:
        yield built
    finally:
        await built.aclose()
