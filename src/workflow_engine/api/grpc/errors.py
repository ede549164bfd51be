"""The gRPC error contract: status code, message, and rich details in `grpc-status-details-bin`.

A refused request ends with the status code named by the `ServiceError` (`grpc_code`) and its
plain message; the trailer carries a `google.rpc.Status` with a `google.rpc.ErrorInfo` (reason =
the REST error code, e.g. `VALIDATION_FAILED`) and, when the error has findings, a
`google.rpc.BadRequest` listing each one (field = path, description = message, reason = code).
Anything unexpected ends as INTERNAL with a generic message; the exception is logged, never sent.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import grpc
import structlog
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from workflow_engine.api.grpc.origin import origin_of
from workflow_engine.security.context import request_origin
from workflow_engine.services.errors import ServiceError

_log = structlog.get_logger(__name__)

#: `ErrorInfo.domain` of every error this service raises.
ERROR_DOMAIN = "workflow-engine"
INTERNAL_MESSAGE = "an internal error occurred; it has been logged"

_ServicerT = TypeVar("_ServicerT")
_RequestT = TypeVar("_RequestT")
_ResponseT = TypeVar("_ResponseT")

#: A unary-unary servicer method of grpc.aio: (self, request, context) -> response.
Handler = Callable[[_ServicerT, _RequestT, grpc.aio.ServicerContext], Awaitable[_ResponseT]]


def status_of(exc: ServiceError) -> grpc.Status:
    """Build the gRPC status (code, message, details trailer) of a refused request."""
    code = grpc.StatusCode[exc.grpc_code]
    details = [_packed(error_details_pb2.ErrorInfo(reason=exc.code, domain=ERROR_DOMAIN))]
    if exc.details:
        violations = [
            error_details_pb2.BadRequest.FieldViolation(
                field=issue.path, description=issue.message, reason=issue.code
            )
            for issue in exc.details
        ]
        details.append(_packed(error_details_pb2.BadRequest(field_violations=violations)))
    # StatusCode values are (number, name) pairs; google.rpc.Status wants the number.
    status = status_pb2.Status(code=code.value[0], message=exc.message, details=details)
    return rpc_status.to_status(status)


def _packed(message: error_details_pb2.ErrorInfo | error_details_pb2.BadRequest) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


async def abort_with(context: grpc.aio.ServicerContext, exc: ServiceError) -> NoReturn:
    """End the call with the status of `exc` (raises, as `context.abort` does)."""
    status = status_of(exc)
    await context.abort(status.code, status.details, status.trailing_metadata)
    raise AssertionError("grpc.aio ServicerContext.abort returned instead of raising")


def rpc(
    method: Handler[_ServicerT, _RequestT, _ResponseT],
) -> Handler[_ServicerT, _RequestT, _ResponseT]:
    """Wrap a servicer method so every failure leaves through the error contract."""

    @functools.wraps(method)
    async def guarded(
        self: _ServicerT, request: _RequestT, context: grpc.aio.ServicerContext
    ) -> _ResponseT:
        try:
            with request_origin(origin_of(context)):
                return await method(self, request, context)
        except grpc.aio.AbortError:
            # The call was already ended deliberately; let grpc finish it.
            raise
        except ServiceError as exc:
            await abort_with(context, exc)
        except Exception as exc:
            _log.exception(
                "grpc_unhandled_error",
                method=method.__qualname__,
                error_type=type(exc).__name__,
            )
            await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)
            raise AssertionError("grpc.aio ServicerContext.abort returned") from exc

    return guarded
