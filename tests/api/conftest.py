"""Fixtures shared by the REST and gRPC tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.api.live_engine import running_engine
from workflow_engine.services.container import Services


@pytest.fixture
async def live_services(
    db_url: str, tmp_path: Path, temporal_client: Client
) -> AsyncIterator[Services]:
    """Services whose instances run on the real interpreter (a worker of their own)."""
    async with running_engine(db_url, tmp_path, temporal_client) as services:
        yield services
