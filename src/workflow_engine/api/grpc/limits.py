"""gRPC rate limiting: the REST limiter's buckets, for calls of the workflow-engine services.

A server interceptor placed after the authentication interceptor (so its wrapper runs inside
the caller's principal) takes one token per call from the caller's bucket: the token's user,
else the peer's IP address, the same keys as REST, so a client has one budget whatever
transport it uses. An empty bucket ends the call with RESOURCE_EXHAUSTED through the error
contract (ErrorInfo reason RATE_LIMITED) plus a `google.rpc.RetryInfo` saying when to retry.
Health and reflection are never limited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from workflow_engine.api.grpc.errors import ERROR_DOMAIN
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


class RateLimitInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Take a token per call of the named services.

    Args:
        limiter: `Services.rate_limiter` (not None: without a limiter, install nothing).
        limited_services: Full names of the services whose calls are limited.
    """

    def __init__(self, limiter: RateLimiter, limited_services: tuple[str, ...]) -> None:
        self._limiter = limiter
        self._prefixes = tuple(f"/{name}/" for name in limited_services)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """Wrap the handler of a limited method so it first takes a token."""
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or not method.startswith(self._prefixes):
            return handler
        return _wrapped(handler, self._take)

    async def _take(self, context: grpc.aio.ServicerContext) -> None:
        key = client_key(current_principal(), peer_ip(context.peer()))
        try:
            await enforce_rate_limit(self._limiter, key)
        except RateLimitedError as exc:
            await _refuse(context, exc)


_Gate = Callable[[grpc.aio.ServicerContext], Awaitable[None]]


def _wrapped(handler: grpc.RpcMethodHandler, gate: _Gate) -> Any:
    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        inner_uu = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await gate(context)
            return await inner_uu(request, context)

        return grpc.unary_unary_rpc_method_handler(unary_unary, **kwargs)
    if handler.unary_stream is not None:
        inner_us = handler.unary_stream

        async def unary_stream(
            request: Any, context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            await gate(context)
            async for item in inner_us(request, context):
                yield item

        return grpc.unary_stream_rpc_method_handler(unary_stream, **kwargs)
    if handler.stream_unary is not None:
        inner_su = handler.stream_unary

        async def stream_unary(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            await gate(context)
            return await inner_su(requests, context)

        return grpc.stream_unary_rpc_method_handler(stream_unary, **kwargs)
    inner_ss = handler.stream_stream

    async def stream_stream(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await gate(context)
        async for item in inner_ss(requests, context):
            yield item

    return grpc.stream_stream_rpc_method_handler(stream_stream, **kwargs)
