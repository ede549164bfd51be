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
