"""Request limits of the REST API: header size (431), body size (413), per-client rate (429).

All are plain ASGI middlewares (not Starlette's BaseHTTPMiddleware, which buffers streaming
responses and breaks SSE) and answer in the JSON error contract of `api/rest/errors.py`.

* `BodyLimitMiddleware` refuses a body over `max_request_bytes`: at once when Content-Length
  says so, otherwise (chunked bodies, or a Content-Length that lies low) as soon as the bytes
  read pass the limit, so an oversized body is never buffered whole. Definition uploads may be
  as large as `max_definition_bytes` when that is larger (their route checks that limit itself
  and names it).
* `HeaderLimitMiddleware` refuses requests whose headers (names + values) total more than
  `max_header_bytes` (uvicorn's httptools parser takes megabytes of headers).
* `RateLimitMiddleware` takes one token per `/api/...` request from the client's bucket (see
  `services.rate_limit`). It must run inside the authentication middleware: the bucket is the
  verified user's, else the client address's. Health, readiness, metrics, the portal's files
  and the OpenAPI pages are never limited.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow_engine.api.rest.errors import error_body
from workflow_engine.security.context import current_principal
from workflow_engine.services.errors import PayloadTooLargeError, RateLimitedError
from workflow_engine.services.rate_limit import RateLimiter, client_key, enforce_rate_limit

__all__ = [
    "BodyLimitMiddleware",
    "HeaderLimitMiddleware",
    "RateLimitMiddleware",
    "is_rate_limited_path",
]

#: Where definitions are uploaded (POST a new one, PUT a new version).
_DEFINITIONS_PATH = "/api/v1/definitions"


class BodyTooLargeError(HTTPException):
    """Raised from `receive` when a streamed body passes the limit.

    An HTTPException because FastAPI re-raises those unchanged while it reads a body (any
    other exception there becomes a generic 400); the app's handler renders it as 413
    PAYLOAD_TOO_LARGE.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(
            status_code=PayloadTooLargeError.status,
            detail=f"the request body is larger than the limit of {limit} bytes "
            "(max_request_bytes)",
        )


class BodyLimitMiddleware:
    """Refuse request bodies over the limit with 413.

    Args:
        app: The wrapped ASGI app.
        max_bytes: `Settings.max_request_bytes`.
        max_definition_bytes: `Settings.max_definition_bytes` (definition uploads may be up
            to the larger of the two).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_definition_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_definition_bytes = max_definition_bytes

    def limit_for(self, method: str, path: str) -> int:
        """The body limit of one request."""
        if method in ("POST", "PUT") and path.rstrip("/").startswith(_DEFINITIONS_PATH):
            return max(self.max_bytes, self.max_definition_bytes)
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length, then count the body's bytes as the app reads them."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            response = JSONResponse(
                error_body(
                    PayloadTooLargeError.code,
                    f"the request body is {int(declared)} bytes; at most {limit} bytes are "
                    "allowed (max_request_bytes)",
                ),
                status_code=PayloadTooLargeError.status,
                # The unread body stays on the connection: close it rather than parse it.
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLargeError as exc:
            # Read outside a route (a middleware, a mounted app): answer here if still possible.
            if started:
                raise
            response = JSONResponse(
                error_body(PayloadTooLargeError.code, str(exc.detail)),
                status_code=exc.status_code,
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)


class HeaderLimitMiddleware:
    """Refuse requests whose headers total more than `max_bytes` with 431.

    Args:
        app: The wrapped ASGI app.
        max_bytes: `Settings.max_header_bytes`.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Sum the header bytes; answer 431 over the limit."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        size = sum(len(name) + len(value) for name, value in scope.get("headers", ()))
        if size <= self.max_bytes:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1009, "reason": "headers too large"})
            return
        response = JSONResponse(
            error_body(
                "REQUEST_HEADERS_TOO_LARGE",
                f"the request headers are {size} bytes; at most {self.max_bytes} bytes are "
                "allowed (max_header_bytes)",
            ),
            status_code=431,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def is_rate_limited_path(path: str) -> bool:
    """Only the API is rate limited; health, metrics, the portal and the docs are not."""
    return path == "/api" or path.startswith("/api/")


class RateLimitMiddleware:
    """Answer 429 with Retry-After when the client's bucket is empty.

    Args:
        app: The wrapped ASGI app.
        limiter: `Services.rate_limiter`; None passes every request through (limiting off).
    """

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter | None) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Take a token for the request's client, or refuse it."""
        if (
            self.limiter is None
            or scope["type"] != "http"
            or scope["method"] == "OPTIONS"
            or not is_rate_limited_path(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = client_key(current_principal(), client[0] if client else None)
        try:
            await enforce_rate_limit(self.limiter, key)
        except RateLimitedError as exc:
            response = JSONResponse(
                error_body(exc.code, exc.message),
                status_code=exc.status,
                headers={"Retry-After": str(exc.retry_after)},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
