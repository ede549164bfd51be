"""Where a REST request comes from: a pure-ASGI middleware setting `request_origin(...)`.

Pure ASGI (not `BaseHTTPMiddleware`) so the origin reaches everything that runs for the
request, including SSE generators that outlive the endpoint call. The client address is the
one the ASGI server reports: behind a proxy, run the server with its proxy-headers option
(trusted proxies only) rather than trusting `X-Forwarded-For` here, which any client can forge.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from workflow_engine.security.context import RequestOrigin, request_origin


def origin_of(scope: Scope) -> RequestOrigin:
    """The origin of an HTTP / WebSocket request: client host, User-Agent, X-Request-ID."""
    headers = Headers(scope=scope)
    client = scope.get("client")
    host = str(client[0]) if client else None
    return RequestOrigin(
        transport="rest",
        client=host,
        user_agent=headers.get("user-agent"),
        request_id=headers.get("x-request-id"),
    )


class RequestOriginMiddleware:
    """Run each HTTP / WebSocket request under its `RequestOrigin`.

    Args:
        app: The wrapped ASGI application.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Set the origin around the whole request (lifespan passes through untouched)."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        with request_origin(origin_of(scope)):
            await self.app(scope, receive, send)
