"""Per-client rate limiting: a token bucket per client, shared through Redis when configured.

Every client (the token's user, else the client's IP address) has a bucket of `burst` tokens
that refills at `per_minute / 60` tokens a second; a request takes one token, and with none
left it is refused with RateLimitedError (429 / RESOURCE_EXHAUSTED) saying how many seconds
until a token is back. REST and gRPC use the same limiter and the same keys, so a client has
one budget whatever transport it uses.

With Redis the bucket lives in one Redis hash updated by a Lua script (atomic, and timed by
the Redis server's clock), so every API replica shares it. Without Redis it lives in this
process. If Redis fails, requests are let through (and a warning logged, at most once a
minute): an outage of the limiter must not become an outage of the API.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from workflow_engine.security.principal import Principal
from workflow_engine.services.errors import RateLimitedError

if TYPE_CHECKING:
    from workflow_engine.config import Settings

__all__ = [
    "InProcessRateLimiter",
    "RateDecision",
    "RateLimiter",
    "RedisRateLimiter",
    "build_rate_limiter",
    "client_key",
    "enforce_rate_limit",
]

_log = structlog.get_logger(__name__)

#: Redis key prefix of the buckets.
KEY_PREFIX = "wfe:ratelimit:"

#: Buckets the in-process limiter keeps before it forgets the full ones.
_PRUNE_AT = 10_000

# KEYS[1] bucket; ARGV[1] tokens per millisecond, ARGV[2] capacity. Returns
# {allowed (0/1), milliseconds until the next token when refused, tokens left (floor)}.
_TOKEN_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
return {allowed, wait, math.floor(tokens)}
"""


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The answer for one request.

    Attributes:
        allowed: Whether the request may proceed.
        retry_after: Seconds until the client has a token again (0 when allowed).
        remaining: Whole tokens left after this request.
    """

    allowed: bool
    retry_after: float
    remaining: int


class RateLimiter(Protocol):
    """Takes one token from a client's bucket."""

    per_minute: int
    burst: int

    async def hit(self, key: str) -> RateDecision:
        """Take a token for `key` (see `client_key`), or say how long to wait."""
        ...


class InProcessRateLimiter:
    """Token buckets in this process (one API process, or no Redis).

    Args:
        per_minute: Average requests per minute per client (at least 1).
        burst: Bucket size: requests a client may make at once (at least 1).
        clock: Seconds from a monotonic clock (tests pass their own).
    """

    def __init__(
        self, *, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        _check(per_minute, burst)
        self.per_minute = per_minute
        self.burst = burst
        self._rate = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    async def hit(self, key: str) -> RateDecision:
        """Take a token for `key` (no await inside: atomic within the event loop)."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - at) * self._rate)
        if tokens >= 1.0:
            tokens -= 1.0
            decision = RateDecision(True, 0.0, int(tokens))
        else:
            decision = RateDecision(False, (1.0 - tokens) / self._rate, 0)
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > _PRUNE_AT:
            self._prune(now)
        return decision

    def _prune(self, now: float) -> None:
        # A bucket that has refilled completely is the same as no bucket: forget it.
        full = [
            key
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self._rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]


class RedisRateLimiter:
    """Token buckets in Redis, shared by every replica.

    Args:
        redis: The client (the one `Services.redis` holds).
        per_minute: Average requests per minute per client (at least 1).
        burst: Bucket size (at least 1).
        prefix: Key prefix of the buckets.
    """

    def __init__(
        self, redis: Redis, *, per_minute: int, burst: int, prefix: str = KEY_PREFIX
    ) -> None:
        _check(per_minute, burst)
        self.per_minute = per_minute
        self.burst = burst
        self._redis = redis
        self._prefix = prefix
        self._rate_ms = per_minute / 60_000.0  # tokens per millisecond
        self._script = redis.register_script(_TOKEN_BUCKET_LUA)
        self._warned_at = -math.inf

    async def hit(self, key: str) -> RateDecision:
        """Take a token for `key` in Redis; lets the request through if Redis fails."""
        try:
            allowed, wait_ms, remaining = await self._script(
                keys=[self._prefix + key], args=[repr(self._rate_ms), self.burst]
            )
        except (RedisError, OSError) as exc:
            now = time.monotonic()
            if now - self._warned_at >= 60:
                self._warned_at = now
                _log.warning("rate_limit_redis_failed", error=f"{type(exc).__name__}: {exc}")
            return RateDecision(True, 0.0, self.burst)
        if int(allowed) == 1:
            return RateDecision(True, 0.0, int(remaining))
        return RateDecision(False, int(wait_ms) / 1000.0, 0)


def _check(per_minute: int, burst: int) -> None:
    if per_minute < 1:
        raise ValueError(f"rate limit per minute must be at least 1, got {per_minute}")
    if burst < 1:
        raise ValueError(f"rate limit burst must be at least 1, got {burst}")


def build_rate_limiter(settings: Settings, redis: Redis | None) -> RateLimiter | None:
    """The limiter the settings ask for: None when `rate_limit_per_minute` is 0 (off)."""
    if settings.rate_limit_per_minute == 0:
        return None
    if redis is not None:
        return RedisRateLimiter(
            redis, per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst
        )
    return InProcessRateLimiter(
        per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst
    )


def client_key(principal: Principal, client_ip: str | None) -> str:
    """Whose bucket a request uses: the authenticated user's, else the client address's.

    The user is taken only from a verified principal (never from an unchecked header), so
    nobody can spend another user's budget.
    """
    if not principal.is_system and principal.user_id is not None:
        return f"user:{principal.tenant_id}:{principal.user_id}"
    return f"ip:{client_ip or 'unknown'}"


async def enforce_rate_limit(limiter: RateLimiter, key: str) -> None:
    """Take a token for `key` or refuse the request.

    Raises:
        RateLimitedError: the bucket is empty; `retry_after` is whole seconds (at least 1).
    """
    decision = await limiter.hit(key)
    if decision.allowed:
        return
    retry_after = max(1, math.ceil(decision.retry_after))
    raise RateLimitedError(
        f"too many requests: at most {limiter.per_minute} per minute "
        f"(bursts of {limiter.burst}); retry in {retry_after} s",
        retry_after=retry_after,
    )
