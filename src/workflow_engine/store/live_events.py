"""Reads of the event log for live streams: the backlog a (re)connecting client replays.

Rows come back as :class:`~workflow_engine.bus.LiveEvent`, the same shape the projection
publishes, so a stream sends replayed and live events alike. The instance context
(definition key, tenant, status) is the instance's CURRENT one: the log does not keep the
status each event's batch left behind.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from workflow_engine.bus import LiveEvent
from workflow_engine.store.sealing import open_stored
from workflow_engine.store.tables import ProcessEvent, ProcessInstance

__all__ = ["InstanceProgress", "LiveEventReader"]


@dataclass(frozen=True, slots=True)
class InstanceProgress:
    """Where an instance is: its status and the highest sequence in its log (0: none yet).

    `tenant_id` and `start_user_id` say whose it is (what authorization checks).
    """

    status: str
    last_sequence: int
    tenant_id: str = ""
    start_user_id: str | None = None


def _query() -> Select[*tuple[Any, ...]]:
    return select(
        ProcessEvent.id,
        ProcessEvent.process_instance_id,
        ProcessEvent.sequence,
        ProcessEvent.event_type,
        ProcessEvent.timestamp,
        ProcessInstance.definition_key,
        ProcessInstance.tenant_id,
        ProcessInstance.status,
        ProcessEvent.event_name,
        ProcessEvent.activity_id,
        ProcessEvent.task_id,
        ProcessEvent.user_id,
        ProcessEvent.event_data,
    ).join(ProcessInstance, ProcessInstance.id == ProcessEvent.process_instance_id)


def _iso(moment: datetime) -> str:
    # SQLite hands back naive datetimes; every stored time is UTC.
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat()


def _event(row: Any) -> LiveEvent:
    return LiveEvent(
        id=row[0],
        instance_id=row[1],
        sequence=row[2],
        type=row[3],
        timestamp=_iso(row[4]),
        definition_key=row[5],
        tenant_id=row[6],
        instance_status=row[7],
        name=row[8],
        activity_id=row[9],
        task_id=row[10],
        user_id=row[11],
        data=row[12],
    )


class LiveEventReader:
    """Event-log queries within the caller's session.

    Args:
        session: A read session.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def progress(self, instance_id: str) -> InstanceProgress | None:
        """The instance's status and last logged sequence; None when there is no instance."""
        last = (
            select(func.coalesce(func.max(ProcessEvent.sequence), 0))
            .where(ProcessEvent.process_instance_id == instance_id)
            .scalar_subquery()
        )
        found = (
            await self._session.execute(
                select(
                    ProcessInstance.status,
                    last,
                    ProcessInstance.tenant_id,
                    ProcessInstance.start_user_id,
                ).where(ProcessInstance.id == instance_id)
            )
        ).first()
        if found is None:
            return None
        return InstanceProgress(
            status=found[0], last_sequence=found[1], tenant_id=found[2], start_user_id=found[3]
        )

    async def start_users(self, instance_ids: Collection[str]) -> dict[str, str | None]:
        """Who started each of these instances (ids without an instance row are left out)."""
        if not instance_ids:
            return {}
        rows = await self._session.execute(
            select(ProcessInstance.id, ProcessInstance.start_user_id).where(
                ProcessInstance.id.in_(list(instance_ids))
            )
        )
        return {row[0]: row[1] for row in rows}

    async def of_instance(
        self,
        instance_id: str,
        *,
        after_sequence: int,
        through_sequence: int | None = None,
        limit: int,
    ) -> list[LiveEvent]:
        """The instance's events with `after_sequence < sequence <= through_sequence`, in order.

        Uses the unique (instance, sequence) index.
        """
        stmt = _query().where(
            ProcessEvent.process_instance_id == instance_id,
            ProcessEvent.sequence > after_sequence,
        )
        if through_sequence is not None:
            stmt = stmt.where(ProcessEvent.sequence <= through_sequence)
        rows = await self._session.execute(stmt.order_by(ProcessEvent.sequence).limit(limit))
        return [self._opened(_event(row)) for row in rows]

    async def after_id(
        self,
        after_id: int,
        *,
        limit: int,
        definition_key: str | None = None,
        tenant_id: str | None = None,
        statuses: Collection[str] = (),
        event_types: Collection[str] = (),
        start_user_id: str | None = None,
    ) -> list[LiveEvent]:
        """Events of every instance with a row id above `after_id`, by id, filtered.

        `statuses` compares the instance's current status; `start_user_id` keeps instances
        that user started.
        """
        stmt = _query().where(ProcessEvent.id > after_id)
        stmt = _filtered(stmt, definition_key, tenant_id, statuses, event_types, start_user_id)
        rows = await self._session.execute(stmt.order_by(ProcessEvent.id).limit(limit))
        return [self._opened(_event(row)) for row in rows]

    def _opened(self, event: LiveEvent) -> LiveEvent:
        """`event` with its sealed values opened (store/sealing.py)."""
        data = open_stored(self._session, event.instance_id, event.data)
        return event if data is event.data else replace(event, data=data)

    async def max_id(self) -> int:
        """The highest event row id committed so far (0: none)."""
        found = await self._session.execute(select(func.coalesce(func.max(ProcessEvent.id), 0)))
        return int(found.scalar_one())

    async def ids_after(
        self, after_id: int, *, limit: int, through_id: int | None = None
    ) -> list[int]:
        """Row ids (every instance, unfiltered) above `after_id` (up to `through_id`), in order.

        Only the primary key is read: this is how the global stream learns which ids exist
        (committed) without fetching the events that its filter leaves out.
        """
        stmt = select(ProcessEvent.id).where(ProcessEvent.id > after_id)
        if through_id is not None:
            stmt = stmt.where(ProcessEvent.id <= through_id)
        rows = await self._session.execute(stmt.order_by(ProcessEvent.id).limit(limit))
        return [row[0] for row in rows]

    async def existing_ids(self, ids: Collection[int]) -> set[int]:
        """Which of these row ids exist (committed), whatever their instance (primary key)."""
        if not ids:
            return set()
        rows = await self._session.execute(
            select(ProcessEvent.id).where(ProcessEvent.id.in_(list(ids)))
        )
        return {row[0] for row in rows}

    async def by_ids(
        self,
        ids: Collection[int],
        *,
        definition_key: str | None = None,
        tenant_id: str | None = None,
        statuses: Collection[str] = (),
        event_types: Collection[str] = (),
        start_user_id: str | None = None,
    ) -> list[LiveEvent]:
        """The events with these row ids that pass the filters (as :meth:`after_id`), by id."""
        if not ids:
            return []
        stmt = _query().where(ProcessEvent.id.in_(list(ids)))
        stmt = _filtered(stmt, definition_key, tenant_id, statuses, event_types, start_user_id)
        rows = await self._session.execute(stmt.order_by(ProcessEvent.id))
        return [self._opened(_event(row)) for row in rows]

    async def between_ids(
        self,
        after_id: int,
        through_id: int,
        *,
        definition_key: str | None = None,
        tenant_id: str | None = None,
        statuses: Collection[str] = (),
        event_types: Collection[str] = (),
        start_user_id: str | None = None,
    ) -> list[LiveEvent]:
        """The events with `after_id < id <= through_id` that pass the filters, by id."""
        stmt = _query().where(ProcessEvent.id > after_id, ProcessEvent.id <= through_id)
        stmt = _filtered(stmt, definition_key, tenant_id, statuses, event_types, start_user_id)
        rows = await self._session.execute(stmt.order_by(ProcessEvent.id))
        return [self._opened(_event(row)) for row in rows]


def _filtered(
    stmt: Select[*tuple[Any, ...]],
    definition_key: str | None,
    tenant_id: str | None,
    statuses: Collection[str],
    event_types: Collection[str],
    start_user_id: str | None,
) -> Select[*tuple[Any, ...]]:
    if definition_key is not None:
        stmt = stmt.where(ProcessInstance.definition_key == definition_key)
    if tenant_id is not None:
        stmt = stmt.where(ProcessInstance.tenant_id == tenant_id)
    if statuses:
        stmt = stmt.where(ProcessInstance.status.in_(list(statuses)))
    if event_types:
        stmt = stmt.where(ProcessEvent.event_type.in_(list(event_types)))
    if start_user_id is not None:
        stmt = stmt.where(ProcessInstance.start_user_id == start_user_id)
    return stmt
