"""The REST error contract: `{"error": {"code", "message", "details": [{path, message}]}}`.

Every failure leaves through here with the right status and never a stack trace.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow_engine.crypto.keyring import DecryptionError, UnknownKeyError
from workflow_engine.services.errors import (
    PermissionDeniedError,
    RateLimitedError,
    ServiceError,
    UnauthenticatedError,
)

_log = structlog.get_logger(__name__)

_HTTP_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "INVALID_ARGUMENT",
    429: "RATE_LIMITED",
    503: "UNAVAILABLE",
}


def error_body(
    code: str, message: str, details: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """The JSON body of an error answer."""
    return {"error": {"code": code, "message": message, "details": details or []}}


def install_error_handlers(app: FastAPI) -> None:
    """Map service errors, request validation errors and anything unexpected."""

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        details = [d.to_dict() for d in exc.details]
        headers: dict[str, str] = {}
        if isinstance(exc, PermissionDeniedError):
            details.append({"path": "permission", "message": exc.permission})
        elif isinstance(exc, RateLimitedError):
            headers["Retry-After"] = str(max(1, exc.retry_after))
        elif isinstance(exc, UnauthenticatedError):
            headers["WWW-Authenticate"] = 'Bearer realm="workflow-engine", error="invalid_token"'
        return JSONResponse(
            error_body(exc.code, exc.message, details), status_code=exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"path": ".".join(str(p) for p in err.get("loc", ())), "message": str(err.get("msg"))}
            for err in exc.errors()
        ]
        first = details[0] if details else {"path": "$", "message": "invalid request"}
        message = f"{first['path']}: {first['message']}"
        return JSONResponse(error_body("INVALID_ARGUMENT", message, details), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "ERROR")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(UnknownKeyError)
    @app.exception_handler(DecryptionError)
    async def key_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # Stored data names a key this service lacks (or does not authenticate): say so,
        # with the key id (never key material or data), instead of a bare internal error.
        _log.error("encryption_key_unavailable", path=request.url.path, reason=str(exc))
        return JSONResponse(
            error_body("ENCRYPTION_KEY_UNAVAILABLE", f"stored data cannot be decrypted: {exc}"),
            status_code=500,
        )


class UnexpectedErrorMiddleware:
    """Answer any unexpected exception with the contract's 500 and keep the connection usable.

    Starlette's own last-resort handler (ServerErrorMiddleware) sends the 500 and then
    re-raises the exception to the server; uvicorn closes the connection of every request
    whose application raised, so the client's next request on that keep-alive connection
    failed with ECONNRESET. Installed as the outermost middleware, this one renders the 500,
    logs it, and returns normally: the server sees a finished response. An exception after the
    response has started still propagates (the answer cannot be replaced any more).

    Args:
        app: The wrapped ASGI app.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request; turn an exception before the response started into a 500."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except Exception as exc:
            if started:
                raise
            _log.exception("unhandled_error", path=scope.get("path"), error_type=type(exc).__name__)
            response = JSONResponse(
                error_body("INTERNAL", "an internal error occurred; it has been logged"),
                status_code=500,
            )
            await response(scope, receive, send)
