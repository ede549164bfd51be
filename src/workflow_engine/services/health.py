"""Readiness: each dependency registers a check; `/readyz` is green only when all pass."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

#: A check returns normally when the dependency is usable and raises (any error) when not.
HealthCheck = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The state of one dependency."""

    name: str
    ok: bool
    detail: str


class HealthService:
    """Runs the registered readiness checks concurrently, each bounded by a timeout.

    Args:
        timeout_seconds: A check slower than this counts as failed.
    """

    def __init__(self, *, timeout_seconds: float = 3.0) -> None:
        self._checks: dict[str, HealthCheck] = {}
        self._timeout = timeout_seconds

    def register(self, name: str, check: HealthCheck) -> None:
        """Add (or replace) the check called `name`."""
        self._checks[name] = check

    async def run(self) -> list[CheckResult]:
        """Run every check; the list follows registration order."""
        names = list(self._checks)
        results = await asyncio.gather(*(self._run_one(n) for n in names))
        return list(results)

    async def _run_one(self, name: str) -> CheckResult:
        try:
            await asyncio.wait_for(self._checks[name](), timeout=self._timeout)
        except TimeoutError:
            return CheckResult(name, False, f"no answer within {self._timeout:g}s")
        except Exception as exc:
            return CheckResult(name, False, f"{type(exc).__name__}: {exc}")
        return CheckResult(name, True, "ok")
