"""The principal a request runs as, carried in a context variable.

A context variable (not a parameter on every service method) because the principal must reach
every service call of a request, including ones made inside SSE generators and nested service
calls, and internal callers (engine, timers, CLI) must keep acting as the system without
threading it through. Transports set it around the whole request, so it can never leak into
another request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from workflow_engine.security.principal import Principal

_SYSTEM = Principal.system()
_current: ContextVar[Principal] = ContextVar("wfe_principal", default=_SYSTEM)


def current_principal() -> Principal:
    """The principal of the running request (the system principal outside any request)."""
    return _current.get()


@contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    """Run the block as `principal`; restores the previous principal afterwards."""
    token = _current.set(principal)
    try:
        yield principal
    finally:
        _current.reset(token)


@dataclass(frozen=True, slots=True)
class RequestOrigin:
    """Where a request came from (the "from where" of the audit log).

    Attributes:
        transport: `rest`, `grpc`, `cli` or `job` (an internal periodic job).
        client: The peer address as the transport saw it (`host` or `host:port`), if known.
        user_agent: The client's User-Agent (HTTP header / gRPC metadata), if sent.
        request_id: The caller's `X-Request-ID` (HTTP header / gRPC metadata), if sent.
    """

    transport: str
    client: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


_origin: ContextVar[RequestOrigin | None] = ContextVar("wfe_origin", default=None)


def current_origin() -> RequestOrigin | None:
    """Where the running request came from; None outside any request (engine, timers)."""
    return _origin.get()


@contextmanager
def request_origin(origin: RequestOrigin) -> Iterator[RequestOrigin]:
    """Run the block as a request from `origin`; restores the previous origin afterwards."""
    token = _origin.set(origin)
    try:
        yield origin
    finally:
        _origin.reset(token)
