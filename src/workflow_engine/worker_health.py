"""A worker that cannot work takes no work: checks before polling, readiness, database watch.

`wfe worker` used to poll as soon as it started: with a wrong database port it took tasks whose
activities could only fail, and instances hung. Now, before it polls:

* every activity module must import,
* the application database must answer, with its schema at our newest migration,
* Temporal must answer, and the namespace must exist.

Any failure ends the process with a message naming what failed (`PreflightError`). While it
runs, `WorkerHealth` serves `/livez` and `/readyz` (200 only while the worker polls and its
database answers) on `worker_health_port`, and `watch_database` probes the database: when it
stays unreachable for `worker_database_outage_seconds` the worker stops polling and exits
non-zero, so a supervisor restarts it once the database is back, instead of failing
activities blindly in the meantime. `run_worker_process` puts it all together.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy import text
from sqlalchemy.engine import make_url
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from workflow_engine.config import Settings
from workflow_engine.engine.activities.registry import ActivityLoadError
from workflow_engine.engine.worker import (
    SHUTDOWN_CANCEL_SECONDS,
    implemented_listener_names,
    run_worker,
)
from workflow_engine.services.history_cleanup import run_cleanup_job
from workflow_engine.services.record_retention import run_record_retention_job
from workflow_engine.store.database import create_engine
from workflow_engine.store.migrations import head_revision, schema_revision

__all__ = [
    "PreflightError",
    "WorkerHealth",
    "preflight",
    "run_worker_process",
    "stop_deadline_seconds",
    "watch_database",
]

_log = structlog.get_logger(__name__)

_CHECK_TIMEOUT_S = 10.0
_MAX_REQUEST_BYTES = 8192


class PreflightError(RuntimeError):
    """The worker must not poll: `failures` maps each failed check to why."""

    def __init__(self, failures: dict[str, str]) -> None:
        self.failures = failures
        super().__init__("; ".join(f"{name}: {why}" for name, why in failures.items()))


def describe_database(url: str) -> str:
    """The database URL as it may be printed: no password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy parses: say nothing of its content
        return "(the configured database_url)"


async def _check_modules(settings: Settings, modules: Sequence[str]) -> None:
    # Importing user code may block; a thread keeps the loop (and its deadline) alive.
    await asyncio.to_thread(implemented_listener_names, settings, activity_modules=modules)


async def _check_database(url: str) -> None:
    current = await schema_revision(url, timeout_seconds=_CHECK_TIMEOUT_S)
    head = head_revision()
    if current != head:
        raise RuntimeError(
            f"schema is at revision {current or 'none (never migrated)'}, the worker needs "
            f"{head}: run `wfe migrate` with the same WFE_DATABASE_URL"
        )


async def _check_temporal(settings: Settings) -> None:
    async with asyncio.timeout(_CHECK_TIMEOUT_S):
        client = await Client.connect(
            settings.effective_temporal_address, namespace=settings.temporal_namespace
        )
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=settings.temporal_namespace),
            timeout=timedelta(seconds=_CHECK_TIMEOUT_S),
        )


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {_CHECK_TIMEOUT_S:g}s"
    detail = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {detail[0] if detail else ''}".rstrip(": ")


async def preflight(settings: Settings, modules: Sequence[str]) -> dict[str, str]:
    """Run every check before the worker polls.

    Returns:
        For each check, a line saying what passed (for the log).

    Raises:
        PreflightError: naming each check that failed and why.
    """
    url = settings.effective_database_url
    database = f"database {describe_database(url)}"
    temporal = (
        f"Temporal {settings.effective_temporal_address} "
        f"(namespace {settings.temporal_namespace!r})"
    )
    labels = {"activity modules": "activity modules", "database": database, "temporal": temporal}
    results = await asyncio.gather(
        _check_modules(settings, modules),
        _check_database(url),
        _check_temporal(settings),
        return_exceptions=True,
    )
    failures: dict[str, str] = {}
    for name, result in zip(labels, results, strict=True):
        if isinstance(result, ActivityLoadError):
            failures[labels[name]] = str(result)
        elif isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result  # cancellation, KeyboardInterrupt
            failures[labels[name]] = _why(result)
    if failures:
        raise PreflightError(failures)
    return {label: "ok" for label in labels.values()}


@dataclass
class WorkerHealth:
    """What `/readyz` reports: ready while the worker polls and its database answers."""

    polling: bool = False
    database_error: str | None = None
    started_at: float = field(default_factory=time.monotonic)

    @property
    def ready(self) -> bool:
        """Whether the worker takes work now."""
        return self.polling and self.database_error is None

    def readiness(self) -> dict[str, object]:
        """The `/readyz` body."""
        return {
            "status": "ready" if self.ready else "not ready",
            "checks": {
                "polling": "ok" if self.polling else "not polling",
                "database": self.database_error or "ok",
            },
        }

    async def serve(self, host: str, port: int) -> asyncio.Server:
        """Serve `/livez` and `/readyz` over plain HTTP/1.1 (one request per connection)."""
        return await asyncio.start_server(self._answer, host, port)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                head = await reader.readuntil(b"\r\n\r\n")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        request = head[:_MAX_REQUEST_BYTES].split(b"\r\n", 1)[0].decode("latin-1").split()
        path = request[1].split("?", 1)[0] if len(request) >= 2 else ""
        body: dict[str, object]
        if path == "/livez":
            status, body = 200, {"status": "alive"}
        elif path == "/readyz":
            status, body = (200 if self.ready else 503), self.readiness()
        else:
            status, body = 404, {"error": f"no such endpoint {path!r}: /livez, /readyz"}
        payload = json.dumps(body).encode()
        reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )
        try:
            await writer.drain()
        finally:
            writer.close()


async def watch_database(
    url: str,
    health: WorkerHealth,
    *,
    stop: asyncio.Event,
    interval_seconds: float,
    outage_seconds: float,
) -> str | None:
    """Probe the database every `interval_seconds` until `stop` is set.

    A failed probe turns readiness off at once; a database unreachable for `outage_seconds`
    sets `stop`, so the worker stops polling.

    Returns:
        None when stopped from outside; why it stopped the worker when the database was lost.
    """
    engine = create_engine(url, pool_size=1)
    down_since: float | None = None
    try:
        while not stop.is_set():
            try:
                async with (
                    asyncio.timeout(max(interval_seconds, 1.0)),
                    engine.connect() as connection,
                ):
                    await connection.execute(text("SELECT 1"))
            except Exception as exc:
                now = time.monotonic()
                if down_since is None:
                    down_since = now
                    _log.warning("worker_database_unreachable", error=_why(exc))
                health.database_error = _why(exc)
                if now - down_since >= outage_seconds:
                    reason = (
                        f"database {describe_database(url)} unreachable for "
                        f"{now - down_since:.0f}s ({_why(exc)}): stopped polling"
                    )
                    _log.error("worker_database_lost", reason=reason)
                    stop.set()
                    return reason
            else:
                if down_since is not None:
                    _log.info("worker_database_back")
                down_since, health.database_error = None, None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
    finally:
        await engine.dispose()
    return None


def stop_deadline_seconds(settings: Settings) -> float:
    """How long after SIGTERM a process running a worker may take before it is ended.

    The grace for running activities, the wait for those that ignore cancellation, and a
    margin for closing connections (and, under `wfe dev`, stopping the Temporal child).
    """
    return settings.worker_graceful_shutdown_seconds + SHUTDOWN_CANCEL_SECONDS + 8.0


async def run_worker_process(settings: Settings, *, stop: asyncio.Event) -> str | None:
    """`wfe worker`: check, then poll until `stop` is set or the database is lost.

    Returns:
        None after a requested stop; the reason when the worker stopped itself because its
        database was lost (the caller exits non-zero).

    Raises:
        PreflightError: a check failed; nothing was polled.
        ActivityLoadError, WorkerSetupError: the worker could not be assembled.
    """
    modules = list(settings.activity_modules)
    passed = await preflight(settings, modules)
    _log.info("worker_checks_passed", checks=passed)
    if stop.is_set():
        return None
    health = WorkerHealth()
    server = None
    if settings.worker_health_port is not None:
        server = await health.serve(settings.http_host, settings.worker_health_port)
        _log.info("worker_health_serving", port=settings.worker_health_port)
    started = asyncio.Event()

    async def track_polling() -> None:
        await started.wait()
        health.polling = not stop.is_set()
        await stop.wait()
        health.polling = False

    async def worker() -> None:
        try:
            await run_worker(settings, stop=stop, started=started)
        finally:
            stop.set()  # a failed worker ends the companions too
            started.set()

    try:
        results = await asyncio.gather(
            worker(),
            run_cleanup_job(settings, stop=stop),
            watch_database(
                settings.effective_database_url,
                health,
                stop=stop,
                interval_seconds=settings.worker_database_check_seconds,
                outage_seconds=settings.worker_database_outage_seconds,
            ),
            track_polling(),
            # Last, so the results above keep their places: old request outcomes and audit
            # entries go too (record retention).
            run_record_retention_job(settings, stop=stop),
        )
    finally:
        if server is not None:
            server.close()
    lost: str | None = results[2]
    return lost
