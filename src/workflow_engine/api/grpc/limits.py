"""gRPC rate limiting: the REST limiter's buckets, for calls of the workflow-engine services.

A server interceptor placed after the authentication interceptor (so its wrapper runs inside
the caller's principal) takes one token per call from the caller's bucket: the token's user,
else the peer's IP address, the same keys as REST, so a client has one budget whatever
transport it uses. An empty bucket ends the call with RESOURCE_EXHAUSTED through the error
contract (ErrorInfo reason RATE_LIMITED) plus a `google.rpc.RetryInfo` saying when to retry.
Health and reflection are never limited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NoReturn

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from workflow_engine.api.grpc.errors import ERROR_DOMAIN
from workflow_engine.api.grpc.interception import ServiceGate
from workflow_engine.security.context import current_principal
from workflow_engine.services.errors import RateLimitedError
from workflow_engine.services.rate_limit import RateLimiter, client_key, enforce_rate_limit

__all__ = ["RateLimitInterceptor", "peer_ip"]


def peer_ip(peer: str | None) -> str | None:
    """The address part of a grpc peer string (`ipv4:1.2.3.4:5`, `ipv6:[::1]:5`)."""
    if not peer:
        return None
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        host = rest.rsplit(":", 1)[0] if rest.startswith("[") else rest
        return host.strip("[]")
    return peer  # unix sockets and the like: the whole string identifies the peer


async def _refuse(context: grpc.aio.ServicerContext, exc: RateLimitedError) -> NoReturn:
    details = []
    for message in (
        error_details_pb2.ErrorInfo(reason=exc.code, domain=ERROR_DOMAIN),
        error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=exc.retry_after)),
    ):
        packed = any_pb2.Any()
        packed.Pack(message)
        details.append(packed)
    status = rpc_status.to_status(
        status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=exc.message, details=details)
    )
    await context.abort(status.code, status.details, status.trailing_metadata)
    raise AssertionError("grpc.aio ServicerContext.abort returned instead of raising")


class RateLimitInterceptor(ServiceGate):
    """Take a token per call of the named services.

    Args:
        limiter: `Services.rate_limiter` (not None: without a limiter, install nothing).
        limited_services: Full names of the services whose calls are limited.
    """

    def __init__(self, limiter: RateLimiter, limited_services: tuple[str, ...]) -> None:
        super().__init__(limited_services)
        self._limiter = limiter

    @asynccontextmanager
    async def around(self, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
        """Take a token first (ends the call RESOURCE_EXHAUSTED when the bucket is empty)."""
        await self._take(context)
        yield

    async def _take(self, context: grpc.aio.ServicerContext) -> None:
        key = client_key(current_principal(), peer_ip(context.peer()))
        try:
            await enforce_rate_limit(self._limiter, key)
        except RateLimitedError as exc:
            await _refuse(context, exc)
