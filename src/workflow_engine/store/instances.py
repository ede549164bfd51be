"""Process instance rows: create, read, list with filters and page tokens, delete.

The runtime columns (status, active elements, end time …) are written by the engine's
projection (`store/runtime.py`); this repository serves the services that start and read
instances.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from workflow_engine.store.pagination import (
    check_page_size,
    decode_page_token,
    encode_page_token,
    filters_fingerprint,
)
from workflow_engine.store.sealing import open_stored
from workflow_engine.store.tables import (
    INSTANCE_STATUSES,
    HistoricVariableInstance,
    ProcessEvent,
    ProcessInstance,
    ProcessVariable,
)
from workflow_engine.store.types import utcnow


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    """One process instance as stored (a plain value, detached from any session)."""

    id: str
    process_definition_id: int | None
    definition_key: str
    definition_version: int
    status: str
    business_key: str | None
    start_user_id: str | None
    start_time: datetime
    end_time: datetime | None
    duration: int | None
    delete_reason: str | None
    activity_id: str | None
    active_activity_ids: tuple[str, ...]
    tenant_id: str
    workflow_id: str
    super_instance_id: str | None
    last_sequence: int
    name: str | None

    @property
    def ended(self) -> bool:
        """True once the instance reached a final status."""
        return self.status in ("completed", "terminated", "cancelled", "timed_out")


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One entry of an instance's event log."""

    sequence: int
    event_type: str
    timestamp: datetime
    activity_id: str | None
    task_id: str | None
    event_name: str | None
    user_id: str | None
    data: Any


@dataclass(frozen=True, slots=True)
class InstanceFilters:
    """Filters of the instance list (all optional, combined with AND)."""

    definition_key: str | None = None
    definition_id: int | None = None
    status: str | None = None
    business_key: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    tenant_id: str | None = None
    #: Only instances this user started (set by the service for `instance:read_own` callers).
    start_user_id: str | None = None


def instance_record(row: ProcessInstance) -> InstanceRecord:
    """Convert a row to a record."""
    return InstanceRecord(
        id=row.id,
        process_definition_id=row.process_definition_id,
        definition_key=row.definition_key,
        definition_version=row.definition_version,
        status=row.status,
        business_key=row.business_key,
        start_user_id=row.start_user_id,
        start_time=row.start_time,
        end_time=row.end_time,
        duration=row.duration,
        delete_reason=row.delete_reason,
        activity_id=row.activity_id,
        active_activity_ids=tuple(row.active_activity_ids or ()),
        tenant_id=row.tenant_id,
        workflow_id=row.workflow_id,
        super_instance_id=row.super_instance_id,
        last_sequence=row.last_sequence,
        name=row.name,
    )


class InstanceRepository:
    """Instance rows, within the caller's session (the caller commits).

    Args:
        session: The unit of work to run in.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self,
        *,
        instance_id: str,
        workflow_id: str,
        definition_id: int | None,
        definition_key: str,
        definition_version: int,
        tenant_id: str = "",
        business_key: str | None = None,
        start_user_id: str | None = None,
        name: str | None = None,
        super_instance_id: str | None = None,
        start_time: datetime | None = None,
    ) -> InstanceRecord:
        """Insert a running instance row and return it."""
        now = start_time or utcnow()
        row = ProcessInstance(
            id=instance_id,
            workflow_id=workflow_id,
            process_definition_id=definition_id,
            definition_key=definition_key,
            definition_version=definition_version,
            status="running",
            tenant_id=tenant_id,
            business_key=business_key,
            start_user_id=start_user_id,
            name=name,
            super_instance_id=super_instance_id,
            start_time=now,
            active_activity_ids=[],
            last_sequence=0,
            created_at=now,
            updated_at=now,
        )
        self._session.add(row)
        await self._session.flush()
        await self._session.refresh(row)
        return instance_record(row)

    async def get(self, instance_id: str) -> InstanceRecord | None:
        """The instance with this id, or None."""
        row = (
            await self._session.execute(
                select(ProcessInstance).where(ProcessInstance.id == instance_id)
            )
        ).scalar_one_or_none()
        return instance_record(row) if row is not None else None

    async def delete(self, instance_id: str) -> bool:
        """Delete an instance row (and, by cascade, its children); True if it existed."""
        result = await self._session.execute(
            delete(ProcessInstance)
            .where(ProcessInstance.id == instance_id)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def list(
        self, filters: InstanceFilters, *, page_size: int = 50, page_token: str | None = None
    ) -> tuple[list[InstanceRecord], str | None]:
        """One page of instances, oldest start first, and the next page's token.

        Raises:
            ValueError: A bad page size, an unknown status, or a page token that is malformed
                or belongs to other filters.
        """
        check_page_size(page_size)
        if filters.status is not None and filters.status not in INSTANCE_STATUSES:
            raise ValueError(
                f"status must be one of {', '.join(INSTANCE_STATUSES)}, got {filters.status!r}"
            )
        fingerprint = filters_fingerprint(
            {
                "definition_key": filters.definition_key,
                "definition_id": filters.definition_id,
                "status": filters.status,
                "business_key": filters.business_key,
                "started_after": filters.started_after,
                "started_before": filters.started_before,
                "tenant_id": filters.tenant_id,
                "start_user_id": filters.start_user_id,
            }
        )
        stmt = select(ProcessInstance)
        if filters.definition_key is not None:
            stmt = stmt.where(ProcessInstance.definition_key == filters.definition_key)
        if filters.definition_id is not None:
            stmt = stmt.where(ProcessInstance.process_definition_id == filters.definition_id)
        if filters.status is not None:
            stmt = stmt.where(ProcessInstance.status == filters.status)
        if filters.business_key is not None:
            stmt = stmt.where(ProcessInstance.business_key == filters.business_key)
        if filters.started_after is not None:
            stmt = stmt.where(ProcessInstance.start_time >= filters.started_after)
        if filters.started_before is not None:
            stmt = stmt.where(ProcessInstance.start_time < filters.started_before)
        if filters.tenant_id is not None:
            stmt = stmt.where(ProcessInstance.tenant_id == filters.tenant_id)
        if filters.start_user_id is not None:
            stmt = stmt.where(ProcessInstance.start_user_id == filters.start_user_id)
        if page_token is not None:
            last = decode_page_token(page_token, fingerprint)
            if len(last) != 2 or not all(isinstance(v, str) for v in last):
                raise ValueError(
                    "page_token is malformed: pass back next_page_token exactly as returned"
                )
            last_time = datetime.fromisoformat(last[0])
            stmt = stmt.where(
                (ProcessInstance.start_time > last_time)
                | ((ProcessInstance.start_time == last_time) & (ProcessInstance.id > last[1]))
            )
        stmt = stmt.order_by(ProcessInstance.start_time, ProcessInstance.id).limit(page_size + 1)
        rows: Sequence[ProcessInstance] = (await self._session.execute(stmt)).scalars().all()
        records = [instance_record(r) for r in rows[:page_size]]
        token = None
        if len(rows) > page_size:
            tail = records[-1]
            token = encode_page_token([tail.start_time.isoformat(), tail.id], fingerprint)
        return records, token

    async def variables(self, instance_id: str) -> dict[str, Any]:
        """The instance-wide (global) variables, by name."""
        stmt = (
            select(ProcessVariable.name, ProcessVariable.value)
            .where(
                ProcessVariable.process_instance_id == instance_id,
                ProcessVariable.scope_id == "",
            )
            .order_by(ProcessVariable.name)
        )
        found = {
            name: open_stored(self._session, instance_id, value, name)
            for name, value in (await self._session.execute(stmt)).all()
        }
        if found:
            return found
        # An ended instance's variables were moved to history (store/history.py).
        moved = (
            select(HistoricVariableInstance.name, HistoricVariableInstance.value)
            .where(
                HistoricVariableInstance.process_instance_id == instance_id,
                HistoricVariableInstance.scope_id == "",
            )
            .order_by(HistoricVariableInstance.name)
        )
        return {
            name: open_stored(self._session, instance_id, value, name)
            for name, value in (await self._session.execute(moved)).all()
        }

    async def events(
        self, instance_id: str, *, types: Sequence[str] | None = None
    ) -> builtins.list[EventRecord]:
        """The event log of an instance in sequence order (optionally only some types)."""
        stmt = select(ProcessEvent).where(ProcessEvent.process_instance_id == instance_id)
        if types is not None:
            stmt = stmt.where(ProcessEvent.event_type.in_(list(types)))
        rows = (await self._session.execute(stmt.order_by(ProcessEvent.sequence))).scalars()
        return [
            EventRecord(
                sequence=r.sequence,
                event_type=r.event_type,
                timestamp=r.timestamp,
                activity_id=r.activity_id,
                task_id=r.task_id,
                event_name=r.event_name,
                user_id=r.user_id,
                data=open_stored(self._session, instance_id, r.event_data),
            )
            for r in rows
        ]
