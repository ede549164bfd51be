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

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unhandled_error", path=request.url.path, error_type=type(exc).__name__)
        return JSONResponse(
            error_body("INTERNAL", "an internal error occurred; it has been logged"),
            status_code=500,
        )
