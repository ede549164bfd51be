"""gRPC authentication: every application call runs as the principal of its bearer token.

A server interceptor wraps each method handler of the workflow-engine services (not health
or reflection, which stay public like `/readyz` and `/openapi.json`): the wrapper reads the
`authorization` metadata (`Bearer <token>`), checks the token and runs the servicer method
under `acting_as(principal)`, in the task that serves the call, so the services see it. A bad
or missing token ends the call with UNAUTHENTICATED through the usual error contract.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from workflow_engine.api.grpc.errors import abort_with
from workflow_engine.security import Principal, acting_as
from workflow_engine.security.tokens import TokenVerifier
from workflow_engine.services.errors import ServiceError


def _authorization(context: grpc.aio.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key.lower() == "authorization":
            return value if isinstance(value, str) else value.decode("latin-1")
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Authenticate the calls of the named services.

    Args:
        verifier: The token verifier; None means authentication is off (calls act as the
            system principal).
        protected_services: Full names of the services that need a token (e.g.
            `workflow_engine.v1.DefinitionService`); calls of others pass untouched.
    """

    def __init__(self, verifier: TokenVerifier | None, protected_services: tuple[str, ...]) -> None:
        self._verifier = verifier
        self._prefixes = tuple(f"/{name}/" for name in protected_services)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """Wrap the handler of a protected method so it runs as the caller's principal."""
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or not method.startswith(self._prefixes):
            return handler
        return _wrapped(handler, self._principal)

    async def _principal(self, context: grpc.aio.ServicerContext) -> Principal:
        if self._verifier is None:
            return Principal.system()
        try:
            return await self._verifier.verify_header(_authorization(context))
        except ServiceError as exc:
            await abort_with(context, exc)


_Authenticate = Callable[[grpc.aio.ServicerContext], Awaitable[Principal]]


def _wrapped(handler: grpc.RpcMethodHandler, authenticate: _Authenticate) -> Any:
    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        inner_uu = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            with acting_as(await authenticate(context)):
                return await inner_uu(request, context)

        return grpc.unary_unary_rpc_method_handler(unary_unary, **kwargs)
    if handler.unary_stream is not None:
        inner_us = handler.unary_stream

        async def unary_stream(
            request: Any, context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            with acting_as(await authenticate(context)):
                async for item in inner_us(request, context):
                    yield item

        return grpc.unary_stream_rpc_method_handler(unary_stream, **kwargs)
    if handler.stream_unary is not None:
        inner_su = handler.stream_unary

        async def stream_unary(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            with acting_as(await authenticate(context)):
                return await inner_su(requests, context)

        return grpc.stream_unary_rpc_method_handler(stream_unary, **kwargs)
    inner_ss = handler.stream_stream

    async def stream_stream(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        with acting_as(await authenticate(context)):
            async for item in inner_ss(requests, context):
                yield item

    return grpc.stream_stream_rpc_method_handler(stream_stream, **kwargs)
