"""Read-through cache of deployed process models.

A deployed definition version is immutable, so a cached model can only go stale by deletion;
`invalidate` handles that. Two layers: a small in-process LRU (no I/O on the hot path of
starting instances) in front of Redis when `WFE_REDIS_URL` is set (shared by every API replica
and worker), then the database through the caller's loader.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from workflow_engine.model.parser import parse_definition
from workflow_engine.model.types import ProcessModel

_log = structlog.get_logger(__name__)

#: Loads the canonical document (JSON text) of a definition from the database; None if absent.
DocumentLoader = Callable[[], Awaitable[str | None]]


class DefinitionCache:
    """Caches `ProcessModel`s by definition id.

    Args:
        redis: A Redis client, or None for the in-process layer only.
        ttl_seconds: How long Redis keeps an entry (refreshed on every load from the database).
        max_local: How many models the in-process LRU keeps.
        key_prefix: Namespace of the Redis keys.
    """

    def __init__(
        self,
        *,
        redis: Redis | None = None,
        ttl_seconds: int = 3600,
        max_local: int = 256,
        key_prefix: str = "wfe:definition:",
    ) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._max_local = max_local
        self._prefix = key_prefix
        self._local: OrderedDict[int, ProcessModel] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def get_model(self, definition_id: int, load: DocumentLoader) -> ProcessModel | None:
        """The model of a definition, loading it through `load` on a miss."""
        model = self._local.get(definition_id)
        if model is not None:
            self._local.move_to_end(definition_id)
            self.hits += 1
            return model
        self.misses += 1
        text = await self._redis_get(definition_id)
        if text is None:
            text = await load()
            if text is None:
                return None
            await self._redis_set(definition_id, text)
        model = _parse_stored(definition_id, text)
        self._remember(definition_id, model)
        return model

    async def invalidate(self, definition_id: int) -> None:
        """Forget a definition everywhere (after it is deleted)."""
        self._local.pop(definition_id, None)
        if self._redis is not None:
            try:
                await self._redis.delete(self._key(definition_id))
            except RedisError as exc:
                # A stale Redis entry of a deleted id is harmless: ids are never reused and
                # every read path checks the database row first.
                _log.warning("definition_cache_invalidate_failed", error=str(exc))

    def _remember(self, definition_id: int, model: ProcessModel) -> None:
        self._local[definition_id] = model
        self._local.move_to_end(definition_id)
        while len(self._local) > self._max_local:
            self._local.popitem(last=False)

    def _key(self, definition_id: int) -> str:
        return f"{self._prefix}{definition_id}"

    async def _redis_get(self, definition_id: int) -> str | None:
        if self._redis is None:
            return None
        try:
            raw = await self._redis.get(self._key(definition_id))
        except RedisError as exc:
            # The cache must never make the engine unavailable: fall back to the database.
            _log.warning("definition_cache_read_failed", error=str(exc))
            return None
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def _redis_set(self, definition_id: int, text: str) -> None:
        if self._redis is None:
            return
        try:
            await self._redis.set(self._key(definition_id), text, ex=self._ttl)
        except RedisError as exc:
            _log.warning("definition_cache_write_failed", error=str(exc))


def _parse_stored(definition_id: int, text: str) -> ProcessModel:
    model, issues = parse_definition(json.loads(text))
    if model is None:
        # Stored documents were valid at deploy time; failing here means the row was altered.
        first = issues[0].message if issues else "unknown reason"
        raise RuntimeError(f"stored definition {definition_id} no longer parses: {first}")
    return model
