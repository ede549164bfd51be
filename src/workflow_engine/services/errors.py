"""Errors of the service layer, shared by REST and gRPC.

Each carries a stable `code`, a plain `message` and optional `details` (path + message pairs), so
both transports render the same answer: REST maps `status`, gRPC maps `grpc_code` names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from workflow_engine.model.issues import ValidationIssue


class ServiceError(Exception):
    """Base class: a request the service refuses, with a reason the caller can act on."""

    code: ClassVar[str] = "INTERNAL"
    status: ClassVar[int] = 500
    grpc_code: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str, *, details: Sequence[ValidationIssue] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = tuple(details)


class InvalidArgumentError(ServiceError):
    """A request field is missing or malformed."""

    code = "INVALID_ARGUMENT"
    status = 400
    grpc_code = "INVALID_ARGUMENT"


class ValidationFailedError(ServiceError):
    """A definition (or variables) failed validation; `details` lists every finding."""

    code = "VALIDATION_FAILED"
    status = 400
    grpc_code = "INVALID_ARGUMENT"


class UnauthenticatedError(ServiceError):
    """No valid credentials: missing, malformed, expired or wrongly signed token."""

    code = "UNAUTHENTICATED"
    status = 401
    grpc_code = "UNAUTHENTICATED"


class PermissionDeniedError(ServiceError):
    """The caller is known but may not do this; `permission` names what is missing."""

    code = "PERMISSION_DENIED"
    status = 403
    grpc_code = "PERMISSION_DENIED"

    def __init__(
        self,
        message: str,
        *,
        permission: str,
        details: Sequence[ValidationIssue] = (),
    ) -> None:
        super().__init__(message, details=details)
        self.permission = permission


class RateLimitedError(ServiceError):
    """Too many requests from one client; retry after `retry_after` seconds."""

    code = "RATE_LIMITED"
    status = 429
    grpc_code = "RESOURCE_EXHAUSTED"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotFoundError(ServiceError):
    """The addressed resource does not exist (or is not visible to the caller)."""

    code = "NOT_FOUND"
    status = 404
    grpc_code = "NOT_FOUND"


class ConflictError(ServiceError):
    """The request conflicts with the resource's current state."""

    code = "CONFLICT"
    status = 409
    grpc_code = "FAILED_PRECONDITION"


class PayloadTooLargeError(ServiceError):
    """The request body or definition exceeds a configured limit."""

    code = "PAYLOAD_TOO_LARGE"
    status = 413
    grpc_code = "RESOURCE_EXHAUSTED"


class LimitExceededError(ServiceError):
    """A well-formed request over a configured shape limit (422, not retryable as it is).

    Too deeply nested variables, too many definition elements.
    """

    code = "LIMIT_EXCEEDED"
    status = 422
    grpc_code = "INVALID_ARGUMENT"


class UnsupportedMediaTypeError(ServiceError):
    """The content type is not one the endpoint accepts."""

    code = "UNSUPPORTED_MEDIA_TYPE"
    status = 415
    grpc_code = "INVALID_ARGUMENT"


class UnavailableError(ServiceError):
    """A dependency (database, Temporal, Redis) is not reachable right now."""

    code = "UNAVAILABLE"
    status = 503
    grpc_code = "UNAVAILABLE"
