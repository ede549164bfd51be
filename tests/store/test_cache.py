"""The read-through definition cache: in-process LRU, shared Redis layer, database loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from redis.asyncio import Redis

from workflow_engine.model.json_export import canonical_json
from workflow_engine.store.cache import DefinitionCache

SEED = Path(__file__).resolve().parents[2] / "examples" / "user-registration.json"


@pytest.fixture
def seed_text() -> str:
    return canonical_json(json.loads(SEED.read_text(encoding="utf-8")))


class Loader:
    """Counts database loads, the thing the cache exists to avoid."""

    def __init__(self, text: str | None) -> None:
        self.text = text
        self.calls = 0

    async def __call__(self) -> str | None:
        self.calls += 1
        return self.text


async def test_in_process_layer_loads_once(seed_text: str) -> None:
    cache = DefinitionCache()
    load = Loader(seed_text)
    first = await cache.get_model(1, load)
    second = await cache.get_model(1, load)
    assert first is second
    assert first is not None and first.process.key == "userRegistration"
    assert load.calls == 1
    assert (cache.hits, cache.misses) == (1, 1)


async def test_missing_definition_is_none_and_not_cached() -> None:
    cache = DefinitionCache()
    load = Loader(None)
    assert await cache.get_model(7, load) is None
    assert await cache.get_model(7, load) is None
    assert load.calls == 2


async def test_lru_keeps_at_most_max_local(seed_text: str) -> None:
    cache = DefinitionCache(max_local=2)
    load = Loader(seed_text)
    for definition_id in (1, 2, 3):
        await cache.get_model(definition_id, load)
    await cache.get_model(1, load)  # evicted: loads again
    assert load.calls == 4


async def test_redis_layer_is_shared_between_replicas(redis_url: str, seed_text: str) -> None:
    redis_a, redis_b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        replica_a = DefinitionCache(redis=redis_a, ttl_seconds=60)
        replica_b = DefinitionCache(redis=redis_b, ttl_seconds=60)
        load = Loader(seed_text)
        await replica_a.get_model(42, load)
        model_b = await replica_b.get_model(42, Loader(None))  # database would say "gone"
        assert model_b is not None and model_b.process.key == "userRegistration"
        assert load.calls == 1
        assert 0 < await redis_a.ttl("wfe:definition:42") <= 60

        await replica_a.invalidate(42)
        assert await redis_a.exists("wfe:definition:42") == 0
        fresh = DefinitionCache(redis=redis_b)
        assert await fresh.get_model(42, Loader(None)) is None
    finally:
        await redis_a.aclose()
        await redis_b.aclose()


async def test_unreachable_redis_falls_back_to_the_database(seed_text: str) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        cache = DefinitionCache(redis=dead)
        load = Loader(seed_text)
        model = await cache.get_model(5, load)
        assert model is not None
        assert load.calls == 1
        await cache.invalidate(5)  # logs, does not raise
    finally:
        await dead.aclose()


async def test_a_corrupted_stored_document_is_reported(seed_text: str) -> None:
    cache = DefinitionCache()
    with pytest.raises(RuntimeError, match="stored definition 9 no longer parses"):
        await cache.get_model(9, Loader("[1, 2]"))
