"""History: an instance's event log, its steps, ended instances, and retention.

Reads only the database (the engine's projection), never Temporal. Retention deletes ended
instances whose end is older than `history_ttl_days`, a bounded batch per transaction, so a
cleanup of millions of rows never holds one huge transaction or lock.

Authorization (issue 6): reads need `instance:read` (the caller's tenant) or
`instance:read_own` (instances the caller started); an instance outside that scope answers
NotFoundError exactly like a missing one. Cleanup needs `history:delete`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from workflow_engine.security import Permission, require
from workflow_engine.services.access import (
    InstanceScope,
    instance_scope,
    object_scope,
    require_instance_read,
)
from workflow_engine.services.audit import audited
from workflow_engine.services.errors import InvalidArgumentError, NotFoundError
from workflow_engine.services.masking import VariableMasker
from workflow_engine.services.steps import Step, build_steps
from workflow_engine.store.database import Database
from workflow_engine.store.history import (
    HistoricInstanceFilters,
    HistoricInstanceRecord,
    HistoryRepository,
    TypeFilter,
)
from workflow_engine.store.instances import EventRecord, InstanceRepository
from workflow_engine.store.pagination import MAX_PAGE_SIZE
from workflow_engine.store.types import utcnow

#: Default instances deleted per cleanup transaction.
DEFAULT_CLEANUP_BATCH = 500


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of an instance's event log."""

    instance_id: str
    events: list[EventRecord]
    next_page_token: str | None


@dataclass(frozen=True, slots=True)
class HistoricInstancePage:
    """One page of ended instances."""

    items: list[HistoricInstanceRecord]
    next_page_token: str | None


@dataclass(frozen=True, slots=True)
class CleanupResult:
    """What one cleanup run deleted."""

    instances_deleted: int
    batches: int
    cutoff: datetime | None


class HistoryService:
    """Use cases of execution history.

    Args:
        database: The application database.
        ttl_days: Keep ended instances this many days after their end; None keeps them.
        cleanup_batch_size: Instances deleted per cleanup transaction.
        masker: Masks sensitive variables in events and steps; None shows them as stored.
    """

    def __init__(
        self,
        *,
        database: Database,
        ttl_days: int | None = None,
        cleanup_batch_size: int = DEFAULT_CLEANUP_BATCH,
        masker: VariableMasker | None = None,
    ) -> None:
        self._db = database
        self._ttl_days = ttl_days
        self._batch = cleanup_batch_size
        self._masker = masker

    async def _masked(self, instance_id: str, events: list[EventRecord]) -> list[EventRecord]:
        """`events` with sensitive variables masked (steps are built from masked events)."""
        if self._masker is None or not events:
            return events
        sensitive = await self._masker.for_instance(
            instance_id, extra=[event.data for event in events]
        )
        if not sensitive:
            return events
        return [replace(event, data=sensitive.mask(event.data)) for event in events]

    @staticmethod
    async def _instance_status(
        session: AsyncSession, instance_id: str, scope: InstanceScope
    ) -> str | None:
        """The instance's final status if it ended, None while it runs.

        Raises:
            NotFoundError: the instance is unknown (or its history expired), or outside the
                caller's scope.
        """
        record = await InstanceRepository(session).get(instance_id)
        if record is not None:
            _check_visible(scope, instance_id, record.tenant_id, record.start_user_id)
            return record.status if record.ended else None
        historic = await HistoryRepository(session).historic_instance(instance_id)
        if historic is None:
            raise NotFoundError(f"instance {instance_id} does not exist")
        _check_visible(scope, instance_id, historic.tenant_id, historic.start_user_id)
        return historic.status

    async def history(
        self,
        instance_id: str,
        *,
        types: Sequence[str] = (),
        page_size: int = 100,
        page_token: str | None = None,
    ) -> EventPage:
        """One page of the instance's event log, ascending by sequence.

        Args:
            instance_id: The instance.
            types: Event types to keep (repeatable / comma-separated; `activity.*` keeps a
                family); empty keeps every type.
            page_size: 1 .. 1000 events.
            page_token: `next_page_token` of the previous page (same filters).

        Raises:
            PermissionDeniedError: without instance read permission.
            NotFoundError: no such instance (or one outside the caller's scope).
            InvalidArgumentError: a bad type filter, page size or page token.
        """
        scope = object_scope(require_instance_read())
        try:
            kinds = TypeFilter.parse(types)
        except ValueError as exc:
            raise InvalidArgumentError(str(exc)) from exc
        async with self._db.session() as session:
            repo = HistoryRepository(session)
            owner = await repo.instance_owner(instance_id)
            if owner is None:
                raise NotFoundError(f"instance {instance_id} does not exist")
            _check_visible(scope, instance_id, owner.tenant_id, owner.start_user_id)
            try:
                events, token = await repo.events(
                    instance_id, types=kinds, page_size=page_size, page_token=page_token
                )
            except ValueError as exc:
                raise InvalidArgumentError(str(exc)) from exc
        return EventPage(instance_id, await self._masked(instance_id, events), token)

    async def steps(self, instance_id: str) -> list[Step]:
        """Every step of the instance in order of its first event.

        Raises:
            PermissionDeniedError: without instance read permission.
            NotFoundError: no such instance (or one outside the caller's scope).
        """
        scope = object_scope(require_instance_read())
        async with self._db.session() as session:
            repo = HistoryRepository(session)
            ended = await self._instance_status(session, instance_id, scope)
            events = await repo.all_events(instance_id)
        events = await self._masked(instance_id, events)
        return build_steps(events, ended_status=ended)

    async def step(self, instance_id: str, step_id: int) -> Step:
        """One step: input, output, attempts with their errors, who, start / end / duration.

        Raises:
            PermissionDeniedError: without instance read permission.
            NotFoundError: no such instance (or one outside the caller's scope), or no step
                starts at that sequence.
        """
        scope = object_scope(require_instance_read())
        async with self._db.session() as session:
            repo = HistoryRepository(session)
            ended = await self._instance_status(session, instance_id, scope)
            first = await repo.event_at(instance_id, step_id)
            node_events = (
                []
                if first is None or first.activity_id is None
                else await repo.all_events(instance_id, node_id=first.activity_id)
            )
        # A node's steps only ever hold that node's events: its part of the log suffices.
        node_events = await self._masked(instance_id, node_events)
        for step in build_steps(node_events, ended_status=ended):
            if step.step_id == step_id:
                return step
        raise NotFoundError(
            f"instance {instance_id} has no step {step_id}: a step id is the sequence of the "
            "step's first event (see GET /api/v1/instances/{id}/steps)"
        )

    async def historic_instances(
        self,
        filters: HistoricInstanceFilters,
        *,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> HistoricInstancePage:
        """A page of ended instances, most recently ended first.

        Only the caller's tenant; for `instance:read_own` only, only instances the caller
        started.

        Raises:
            PermissionDeniedError: without instance read permission; a non-admin naming
                another tenant.
            InvalidArgumentError: a bad filter, page size or page token.
        """
        scope = instance_scope(filters.tenant_id)
        filters = replace(filters, tenant_id=scope.tenant_id)
        if scope.started_by is not None:
            filters = replace(filters, start_user_id=scope.started_by)
        for name in ("started", "ended"):
            low = getattr(filters, f"{name}_after")
            high = getattr(filters, f"{name}_before")
            for which, moment in ((f"{name}_after", low), (f"{name}_before", high)):
                if moment is not None and moment.tzinfo is None:
                    raise InvalidArgumentError(
                        f"{which} needs a time zone, e.g. 2026-01-01T00:00:00Z"
                    )
        async with self._db.session() as session:
            try:
                items, token = await HistoryRepository(session).historic_instances(
                    filters, page_size=page_size, page_token=page_token
                )
            except ValueError as exc:
                raise InvalidArgumentError(str(exc)) from exc
        return HistoricInstancePage(items, token)

    async def historic_instance(self, instance_id: str) -> HistoricInstanceRecord:
        """The history record of an ended instance.

        Raises:
            PermissionDeniedError: without instance read permission.
            NotFoundError: no such ended instance (or one outside the caller's scope).
        """
        scope = object_scope(require_instance_read())
        async with self._db.session() as session:
            found = await HistoryRepository(session).historic_instance(instance_id)
        if found is None or not scope.sees(
            tenant_id=found.tenant_id, start_user_id=found.start_user_id
        ):
            raise NotFoundError(f"instance {instance_id} has no history record (not ended?)")
        return found

    @audited("history.cleanup")
    async def cleanup(
        self,
        *,
        ttl_days: int | None = None,
        now: datetime | None = None,
        batch_size: int | None = None,
        max_batches: int | None = None,
    ) -> CleanupResult:
        """Delete ended instances whose end is older than the retention, batch by batch.

        Each batch (at most `batch_size` instances with their events, tasks and variables) is
        its own transaction; the run stops when a batch comes back short.

        Args:
            ttl_days: Overrides the configured retention; None uses it (None there: nothing
                is deleted).
            now: The reference time (tests); default the current time.
            batch_size: Overrides the configured batch size.
            max_batches: Stop after this many batches (None: until done).

        Raises:
            PermissionDeniedError: without `history:delete` (the periodic job acts as the
                system).
            InvalidArgumentError: a negative retention or a batch size below 1.
        """
        require(Permission.HISTORY_DELETE)
        days = self._ttl_days if ttl_days is None else ttl_days
        size = self._batch if batch_size is None else batch_size
        if size < 1 or size > MAX_PAGE_SIZE:
            raise InvalidArgumentError(f"batch_size must be between 1 and {MAX_PAGE_SIZE}")
        if days is None:
            return CleanupResult(instances_deleted=0, batches=0, cutoff=None)
        if days < 0:
            raise InvalidArgumentError(f"history_ttl_days must be 0 or more, got {days}")
        cutoff = (now or utcnow()) - timedelta(days=days)
        deleted = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            async with self._db.session() as session:
                repo = HistoryRepository(session)
                ids = await repo.expired_instance_ids(cutoff, limit=size)
                if not ids:
                    break
                deleted += await repo.delete_instances(ids)
            batches += 1
            if len(ids) < size:
                break
        return CleanupResult(instances_deleted=deleted, batches=batches, cutoff=cutoff)


def _check_visible(
    scope: InstanceScope, instance_id: str, tenant_id: str, start_user_id: str | None
) -> None:
    # Outside the caller's scope answers exactly like a missing instance: nothing leaks.
    if not scope.sees(tenant_id=tenant_id, start_user_id=start_user_id):
        raise NotFoundError(f"instance {instance_id} does not exist")
