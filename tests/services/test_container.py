"""Wiring: services built from settings, with and without Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from workflow_engine.config import load_settings
from workflow_engine.observability.metrics import sample
from workflow_engine.services.container import build_services
from workflow_engine.services.definition_source import DefinitionFormat

SEED = Path(__file__).resolve().parents[2] / "examples" / "user-registration.json"


async def test_services_with_redis_share_the_definition_cache(
    db_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = load_settings(database_url=db_url, redis_url=redis_url, data_dir=tmp_path)
    first = await build_services(settings)
    second = await build_services(settings)  # another replica on the same database and Redis
    try:
        checks = {result.name: result.ok for result in await first.health.run()}
        assert checks == {"database": True, "redis": True}
        deployed = await first.definitions.deploy(SEED.read_bytes(), fmt=DefinitionFormat.JSON)
        definition_id = deployed.definition.id
        model = await first.definitions.model(definition_id)
        assert model.process.key == "userRegistration"
        assert second.redis is not None
        assert await second.redis.exists(f"wfe:definition:{definition_id}") == 1
        assert (await second.definitions.model(definition_id)).process.key == "userRegistration"

        await first.definitions.delete(definition_id)
        assert await second.redis.exists(f"wfe:definition:{definition_id}") == 0
    finally:
        await first.aclose()
        await second.aclose()


async def test_readiness_reports_a_dead_redis(db_url: str, tmp_path: Path) -> None:
    settings = load_settings(
        database_url=db_url, redis_url="redis://127.0.0.1:1/0", data_dir=tmp_path
    )
    services = await build_services(settings)
    try:
        results = {r.name: r for r in await services.health.run()}
        assert results["database"].ok
        assert not results["redis"].ok
        assert "Error" in results["redis"].detail or "refused" in results["redis"].detail
    finally:
        await services.aclose()


@pytest.mark.temporal
async def test_readiness_sets_the_temporal_reachable_gauge(
    temporal_client: Client, tmp_path: Path
) -> None:
    settings = load_settings(data_dir=tmp_path)
    reachable = await build_services(settings, run_migrations=True, temporal_client=temporal_client)
    # Connected lazily to a port nobody listens on: Temporal cannot be reached.
    nowhere = await Client.connect("127.0.0.1:1", lazy=True)
    unreachable = await build_services(settings, temporal_client=nowhere)
    try:
        results = {r.name: r.ok for r in await reachable.health.run()}
        assert results["temporal"]
        assert sample("wfe_temporal_reachable") == 1
        results = {r.name: r.ok for r in await unreachable.health.run()}
        assert not results["temporal"]
        assert sample("wfe_temporal_reachable") == 0
        await reachable.health.run()
        assert sample("wfe_temporal_reachable") == 1
    finally:
        await reachable.aclose()
        await unreachable.aclose()
