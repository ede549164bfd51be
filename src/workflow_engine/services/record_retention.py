"""Retention of the record tables (`request_outcome`, `audit_log`) and its periodic job.

`request_outcome_ttl_days` (default 7) and `audit_log_ttl_days` (default: keep) set the ages.
`wfe worker` and `wfe dev` prune every `history_cleanup_interval_minutes`; every replica may:
a batch deletes only rows that still exist. The clock is injected so tests need no real dates.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from workflow_engine.config import Settings
from workflow_engine.store.database import Database, create_engine
from workflow_engine.store.retention import (
    delete_audit_entries_before,
    delete_request_outcomes_before,
)
from workflow_engine.store.types import utcnow

__all__ = ["PruneResult", "RecordRetention", "prune_periodically", "run_record_retention_job"]

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PruneResult:
    """How many rows one pruning run deleted."""

    request_outcomes: int = 0
    audit_entries: int = 0


class RecordRetention:
    """Deletes request outcomes and audit entries older than their configured age.

    Args:
        database: The application database.
        request_outcome_ttl_days: Age of request outcomes to delete; None keeps them.
        audit_log_ttl_days: Age of audit entries to delete; None keeps them.
        batch_size: Rows per delete transaction.
        clock: The current time (UTC); injected by tests.
    """

    def __init__(
        self,
        database: Database,
        *,
        request_outcome_ttl_days: int | None,
        audit_log_ttl_days: int | None,
        batch_size: int = 500,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._outcome_ttl = request_outcome_ttl_days
        self._audit_ttl = audit_log_ttl_days
        self._batch_size = batch_size
        self._clock = clock

    @classmethod
    def from_settings(cls, database: Database, settings: Settings) -> RecordRetention:
        """The retention the settings configure."""
        return cls(
            database,
            request_outcome_ttl_days=settings.request_outcome_ttl_days,
            audit_log_ttl_days=settings.audit_log_ttl_days,
            batch_size=settings.history_cleanup_batch_size,
        )

    @property
    def configured(self) -> bool:
        """Whether any table has a maximum age."""
        return self._outcome_ttl is not None or self._audit_ttl is not None

    async def prune(self) -> PruneResult:
        """Delete every row past its table's age now."""
        now = self._clock()
        outcomes = audits = 0
        if self._outcome_ttl is not None:
            outcomes = await delete_request_outcomes_before(
                self._database, now - timedelta(days=self._outcome_ttl), batch_size=self._batch_size
            )
        if self._audit_ttl is not None:
            audits = await delete_audit_entries_before(
                self._database, now - timedelta(days=self._audit_ttl), batch_size=self._batch_size
            )
        return PruneResult(request_outcomes=outcomes, audit_entries=audits)


async def prune_periodically(
    retention: RecordRetention, *, interval_seconds: float, stop: asyncio.Event
) -> None:
    """Prune now and then every `interval_seconds` until `stop` is set (failures are logged)."""
    while not stop.is_set():
        try:
            result = await retention.prune()
        except Exception as exc:
            _log.warning("record_retention_failed", error=str(exc))
        else:
            if result.request_outcomes or result.audit_entries:
                _log.info(
                    "record_retention",
                    request_outcomes_deleted=result.request_outcomes,
                    audit_entries_deleted=result.audit_entries,
                )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)


async def run_record_retention_job(settings: Settings, *, stop: asyncio.Event) -> None:
    """The job for a process without services (`wfe worker`): its own small pool.

    Returns at once when neither table has a maximum age.
    """
    if settings.request_outcome_ttl_days is None and settings.audit_log_ttl_days is None:
        return
    database = Database(create_engine(settings.effective_database_url, pool_size=2))
    try:
        await prune_periodically(
            RecordRetention.from_settings(database, settings),
            interval_seconds=settings.history_cleanup_interval_minutes * 60,
            stop=stop,
        )
    finally:
        await database.dispose()
