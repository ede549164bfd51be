"""The reconciler: open instances in the tables are checked against Temporal; ghosts repaired.

A workflow can end without its instance's end reaching the tables: terminated by Temporal
itself (`temporal workflow terminate`, or the engine's own fallback for a workflow that cannot
take an update), a run timeout, a namespace reset or retention. Such a "ghost" would show
`running` for ever and block terminate / cancel / definition delete. The reconciler pages
through the open rows (keyset by id, `page_size` at a time), asks Temporal about each page's
workflows with at most `concurrency` calls in flight, and writes the end Temporal reports
through the store's normal end path (`store.reconcile.write_external_end`), with an event
`process.reconciled` naming Temporal's status.

Running it twice, or on several replicas at once, is harmless: the end is written under the
instance's row lock only while the row is still open, so exactly one write wins and only that
one counts as a repair (metric, audit entry, report).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import structlog

from workflow_engine.observability import metrics
from workflow_engine.security import Permission, require
from workflow_engine.security.context import RequestOrigin, request_origin
from workflow_engine.services.audit import audited
from workflow_engine.services.errors import UnavailableError
from workflow_engine.services.workflows import WorkflowGateway, WorkflowState
from workflow_engine.store.database import Database
from workflow_engine.store.instances import InstanceRepository
from workflow_engine.store.reconcile import OpenInstance, open_instances, write_external_end
from workflow_engine.store.types import utcnow

_log = structlog.get_logger(__name__)

#: A row whose workflow Temporal does not know is left alone this long after its start: its
#: workflow may still be being started (the row is written first).
START_GRACE = timedelta(seconds=60)

#: The audit log's "from where" of the periodic job.
_JOB_ORIGIN = RequestOrigin(transport="job", client="reconciler")


@dataclass(frozen=True, slots=True)
class Repair:
    """One ghost found (and repaired unless it was a dry run).

    Attributes:
        instance_id: The instance.
        previous_status: What the row said.
        temporal_status: What Temporal says (`TERMINATED`, `TIMED_OUT`, `NOT_FOUND`, …).
        status: The status the row gets.
        reason: Why, as far as Temporal tells.
        repaired: False for a dry run, or when the row ended meanwhile by other means.
    """

    instance_id: str
    previous_status: str
    temporal_status: str
    status: str
    reason: str | None
    repaired: bool


@dataclass(slots=True)
class ReconcileReport:
    """What one reconciliation did."""

    checked: int = 0
    dry_run: bool = False
    repairs: list[Repair] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def repaired(self) -> int:
        """How many rows were really repaired."""
        return sum(1 for r in self.repairs if r.repaired)


class ReconcilerService:
    """Compares open instances with Temporal and repairs ghosts.

    Args:
        database: The application database.
        workflows: The door to Temporal.
        page_size: Open rows read per page.
        concurrency: Temporal calls in flight at most.
        start_grace: See `START_GRACE`.
    """

    def __init__(
        self,
        *,
        database: Database,
        workflows: WorkflowGateway,
        page_size: int = 200,
        concurrency: int = 8,
        start_grace: timedelta = START_GRACE,
    ) -> None:
        self._db = database
        self._workflows = workflows
        self._page_size = page_size
        self._concurrency = concurrency
        self._start_grace = start_grace

    @audited("instance.reconcile")
    async def reconcile(self, *, dry_run: bool = False) -> ReconcileReport:
        """Check every open instance and repair the ghosts.

        Raises:
            PermissionDeniedError: without `instance:reconcile` (admins only).
            UnavailableError: no Temporal connection is configured.
        """
        require(Permission.INSTANCE_RECONCILE)
        if not self._workflows.available:
            raise UnavailableError("no Temporal connection is configured: nothing to compare")
        report = ReconcileReport(dry_run=dry_run)
        after: str | None = None
        limit = asyncio.Semaphore(self._concurrency)
        while True:
            async with self._db.session() as session:
                page = await open_instances(session, after_id=after, limit=self._page_size)
            if not page:
                break
            after = page[-1].id
            report.checked += len(page)
            found = await asyncio.gather(
                *(self._check(row, limit, dry_run=dry_run) for row in page),
                return_exceptions=True,
            )
            for row, outcome in zip(page, found, strict=True):
                if isinstance(outcome, BaseException):
                    report.errors.append(f"{row.id}: {type(outcome).__name__}: {outcome}")
                elif outcome is not None:
                    report.repairs.append(outcome)
            if len(page) < self._page_size:
                break
        return report

    async def _check(
        self, row: OpenInstance, limit: asyncio.Semaphore, *, dry_run: bool
    ) -> Repair | None:
        async with limit:
            state = await self._workflows.describe(row.id)
        if not state.closed:
            return None
        if state.temporal_status == "NOT_FOUND" and row.start_time > self._started_before():
            return None  # maybe not started yet
        assert state.status is not None
        repaired = False
        if not dry_run:
            repaired = await self.write_end(row.id, state)
        return Repair(
            instance_id=row.id,
            previous_status=row.status,
            temporal_status=state.temporal_status,
            status=state.status,
            reason=state.reason,
            repaired=repaired,
        )

    def _started_before(self) -> datetime:
        return utcnow() - self._start_grace

    async def repair(self, instance_id: str, *, reason: str | None = None) -> WorkflowState:
        """Check one instance now and write its end when its workflow has closed.

        Used by the instance and task services when Temporal says a workflow is gone, and
        after the engine terminated a workflow in Temporal itself (`reason`, the engine's own
        words, then replaces Temporal's). No authorization: the caller was
        authorized for the instance. Returns what Temporal says.
        """
        state = await self._workflows.describe(instance_id)
        if state.temporal_status == "NOT_FOUND" and await self._young(instance_id):
            # Its start may still be under way (the row is written before the workflow
            # starts, and a client may repeat a start by request id): not a ghost yet.
            return WorkflowState(status=None, temporal_status="NOT_FOUND")
        if state.closed and reason is not None:
            state = replace(state, reason=reason)
        if state.closed:
            await self.write_end(instance_id, state)
        return state

    async def _young(self, instance_id: str) -> bool:
        async with self._db.session() as session:
            row = await InstanceRepository(session).get(instance_id)
        return row is not None and row.start_time > self._started_before()

    async def write_end(self, instance_id: str, state: WorkflowState) -> bool:
        """Write the end Temporal reports for an open row; True when this call wrote it."""
        assert state.status is not None
        ended_at = state.close_time or utcnow()
        async with self._db.session() as session:
            result = await write_external_end(
                session,
                instance_id,
                status=state.status,
                ended_at=ended_at,
                reason=state.reason,
                data={"temporal_status": state.temporal_status},
            )
        if result is None:
            return False
        metrics.RECONCILER_REPAIRS.labels(status=state.status).inc()
        _log.warning(
            "instance_reconciled",
            instance_id=instance_id,
            temporal_status=state.temporal_status,
            status=state.status,
        )
        return True


async def reconcile_periodically(
    reconciler: ReconcilerService, *, interval_seconds: float, stop: asyncio.Event
) -> None:
    """Reconcile now and then every `interval_seconds` until `stop` is set.

    A failing run (Temporal or the database away) is logged and retried at the next
    interval.
    """
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
        if stop.is_set():
            break
        try:
            with request_origin(_JOB_ORIGIN):
                report = await reconciler.reconcile()
        except Exception as exc:
            _log.warning("reconcile_failed", error=str(exc))
        else:
            if report.repairs or report.errors:
                _log.info(
                    "reconciled",
                    checked=report.checked,
                    repaired=report.repaired,
                    errors=len(report.errors),
                )
