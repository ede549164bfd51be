"""Run something around every call of chosen gRPC services (authentication, rate limiting).

grpc.aio interceptors only choose a handler; to run code in the task that serves the call
(where context variables such as the acting principal must be set), the handler itself is
replaced by one that enters an async context around the original. `ServiceGate` does that for
the methods of the named services and leaves every other call (health, reflection) untouched.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import grpc

__all__ = ["ServiceGate"]


class ServiceGate(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """An interceptor that runs `around(context)` around each call of the named services.

    Args:
        services: Full names of the services concerned (e.g.
            `workflow_engine.v1.DefinitionService`).
    """

    def __init__(self, services: tuple[str, ...]) -> None:
        self._prefixes = tuple(f"/{name}/" for name in services)

    @abstractmethod
    def around(self, context: grpc.aio.ServicerContext) -> AbstractAsyncContextManager[None]:
        """The context the call runs in; it may end the call (`context.abort`) on entry."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """Wrap the handler of a method of the named services; pass others through."""
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or not method.startswith(self._prefixes):
            return handler
        return _wrapped(handler, self.around)


_Around = Callable[[grpc.aio.ServicerContext], AbstractAsyncContextManager[None]]


def _wrapped(handler: grpc.RpcMethodHandler, around: _Around) -> Any:
    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        inner_uu = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async with around(context):
                return await inner_uu(request, context)

        return grpc.unary_unary_rpc_method_handler(unary_unary, **kwargs)
    if handler.unary_stream is not None:
        inner_us = handler.unary_stream

        async def unary_stream(
            request: Any, context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            async with around(context):
                async for item in inner_us(request, context):
                    yield item

        return grpc.unary_stream_rpc_method_handler(unary_stream, **kwargs)
    if handler.stream_unary is not None:
        inner_su = handler.stream_unary

        async def stream_unary(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            async with around(context):
                return await inner_su(requests, context)

        return grpc.stream_unary_rpc_method_handler(stream_unary, **kwargs)
    inner_ss = handler.stream_stream

    async def stream_stream(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        async with around(context):
            async for item in inner_ss(requests, context):
                yield item

    return grpc.stream_stream_rpc_method_handler(stream_stream, **kwargs)
