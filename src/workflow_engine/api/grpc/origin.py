"""Where a gRPC call comes from: peer address, user agent and request id from the metadata."""

from __future__ import annotations

import grpc

from workflow_engine.security.context import RequestOrigin


def origin_of(context: grpc.aio.ServicerContext) -> RequestOrigin:
    """The origin of a gRPC call.

    The client is `context.peer()` (e.g. `ipv4:127.0.0.1:5501`); user agent and request id come
    from the `user-agent` and `x-request-id` metadata.
    """
    metadata: dict[str, str] = {}
    for key, value in context.invocation_metadata() or ():
        if isinstance(value, str):
            metadata.setdefault(key.lower(), value)
    try:
        peer = context.peer()
    except (RuntimeError, ValueError):  # a context without a transport (unit tests)
        peer = None
    return RequestOrigin(
        transport="grpc",
        client=peer or None,
        user_agent=metadata.get("user-agent"),
        request_id=metadata.get("x-request-id"),
    )
