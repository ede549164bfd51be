"""The periodic retention job: delete expired history every N minutes until stopped.

Runs inside `wfe worker` and `wfe dev` when `history_ttl_days` is set. Every replica may run
it: each batch deletes only rows that still exist, so two cleaners at once merely share work.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from workflow_engine.config import Settings
from workflow_engine.security.context import RequestOrigin, request_origin
from workflow_engine.services.history import HistoryService
from workflow_engine.store.database import Database, create_engine

_log = structlog.get_logger(__name__)

#: The audit log's "from where" of the periodic job (it records runs that deleted something).
_JOB_ORIGIN = RequestOrigin(transport="job", client="history-cleanup")


async def cleanup_periodically(
    history: HistoryService, *, interval_seconds: float, stop: asyncio.Event
) -> None:
    """Run `history.cleanup()` now and then every `interval_seconds` until `stop` is set.

    A failing run (database away) is logged and retried at the next interval: retention is
    never a reason to take a worker down.
    """
    while not stop.is_set():
        try:
            with request_origin(_JOB_ORIGIN):
                result = await history.cleanup()
        except Exception as exc:
            _log.warning("history_cleanup_failed", error=str(exc))
        else:
            if result.instances_deleted:
                _log.info(
                    "history_cleanup",
                    instances_deleted=result.instances_deleted,
                    batches=result.batches,
                    cutoff=result.cutoff.isoformat() if result.cutoff else None,
                )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)


async def run_cleanup_job(settings: Settings, *, stop: asyncio.Event) -> None:
    """The job for a process without services (`wfe worker`): its own database pool.

    Returns at once when no retention is configured.
    """
    if settings.history_ttl_days is None:
        return
    database = Database(create_engine(settings.effective_database_url, pool_size=2))
    try:
        await cleanup_periodically(
            HistoryService(
                database=database,
                ttl_days=settings.history_ttl_days,
                cleanup_batch_size=settings.history_cleanup_batch_size,
            ),
            interval_seconds=settings.history_cleanup_interval_minutes * 60,
            stop=stop,
        )
    finally:
        await database.dispose()
