"""Wiring: builds the services every entry point (REST, gRPC, CLI, dev) shares."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from workflow_engine.config import Settings
from workflow_engine.services.definitions import DefinitionService
from workflow_engine.services.health import HealthService
from workflow_engine.store.cache import DefinitionCache
from workflow_engine.store.database import Database, create_engine
from workflow_engine.store.migrations import migrate


@dataclass
class Services:
    """Everything a transport needs; close with `aclose()`."""

    settings: Settings
    database: Database
    definitions: DefinitionService
    health: HealthService
    redis: Redis | None = None
    _closed: bool = field(default=False, repr=False)

    async def aclose(self) -> None:
        """Release connections (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.redis is not None:
            await self.redis.aclose()
        await self.database.dispose()


async def build_services(settings: Settings, *, run_migrations: bool = False) -> Services:
    """Connect to the configured database (and Redis) and assemble the services.

    Args:
        settings: The configuration.
        run_migrations: Upgrade the schema to the newest revision first (`wfe dev` does;
            production runs `wfe migrate` once instead).
    """
    url = settings.effective_database_url
    if run_migrations:
        await migrate(url)
    database = Database(create_engine(url))
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    cache = DefinitionCache(redis=redis, ttl_seconds=settings.definition_cache_ttl_seconds)
    health = HealthService()

    async def database_ready() -> None:
        if not await database.ping():
            raise ConnectionError("the database does not answer")

    health.register("database", database_ready)
    if redis is not None:
        redis_client = redis

        async def redis_ready() -> None:
            await redis_client.ping()

        health.register("redis", redis_ready)
    definitions = DefinitionService(
        database=database,
        cache=cache,
        max_definition_bytes=settings.max_definition_bytes,
        max_definition_elements=settings.max_definition_elements,
    )
    return Services(
        settings=settings, database=database, definitions=definitions, health=health, redis=redis
    )
