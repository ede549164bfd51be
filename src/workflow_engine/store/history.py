"""History storage: moving an ended instance's rows, reading its log, listing and expiring.

What moves when an instance ends (in the transaction of its final runtime batch):

* its task rows and their candidates -> ``historic_task_instance`` / ``historic_task_candidate``:
  the inbox is the hottest runtime query and filters by assignee / candidate, whose indexes
  would otherwise grow with every task ever completed;
* its variables -> ``historic_variable_instance``: the variable table then holds live instances
  only.

What stays:

* the ``process_instance`` row: one narrow row per instance, read by id or through the
  ``status`` index (live statuses are a small, selective slice), and the parent the event log
  and the call-activity links point at; the instance GET of an ended instance answers from it
  and from the historic variables;
* the events in ``process_event``: they are only ever read through the unique
  ``(process_instance_id, sequence)`` index, whose cost grows with log(rows), while copying an
  instance's log at its end would double the write volume of every instance (1,000 events ->
  1,000 more inserts and deletes in the final transaction) and give readers two places to look.

Retention deletes whole ended instances (history row, instance row, events, tasks,
variables) whose end is older than the cutoff, a bounded number of instances per transaction.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from workflow_engine.store.instances import EventRecord
from workflow_engine.store.pagination import (
    check_page_size,
    decode_page_token,
    encode_page_token,
    filters_fingerprint,
)
from workflow_engine.store.sealing import open_stored
from workflow_engine.store.tables import (
    INSTANCE_STATUSES,
    EventSubscription,
    HistoricProcessInstance,
    HistoricTaskCandidate,
    HistoricTaskInstance,
    HistoricVariableInstance,
    ProcessEvent,
    ProcessInstance,
    ProcessVariable,
    TaskCandidate,
    TaskInstance,
)

_TASK: Table = TaskInstance.__table__  # type: ignore[assignment]
_HTASK: Table = HistoricTaskInstance.__table__  # type: ignore[assignment]
_CAND: Table = TaskCandidate.__table__  # type: ignore[assignment]
_HCAND: Table = HistoricTaskCandidate.__table__  # type: ignore[assignment]
_VAR: Table = ProcessVariable.__table__  # type: ignore[assignment]
_HVAR: Table = HistoricVariableInstance.__table__  # type: ignore[assignment]

#: Columns copied from ``task_instance`` (every historic column has a runtime twin).
_TASK_COLUMNS: Final = tuple(c.name for c in _HTASK.columns)
_VARIABLE_COLUMNS: Final = tuple(c.name for c in _HVAR.columns if c.name != "id")


def _insert(session: AsyncSession, table: Table) -> Any:
    # The dialect's own INSERT: it has ON CONFLICT DO NOTHING (both databases).
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def move_to_history(session: AsyncSession, instance_id: str) -> None:
    """Move an ended instance's tasks (with candidates) and variables to the history tables.

    Idempotent: rows already moved are ignored on insert, and the runtime rows are gone then.
    Runs in the caller's transaction (the projection's final batch), so a reader sees the rows
    in exactly one of the two places.
    """
    tasks_of = _TASK.c.process_instance_id == instance_id
    # Variables first: task-local variables reference their task row (ON DELETE CASCADE).
    await session.execute(
        _insert(session, _HVAR)
        .from_select(
            list(_VARIABLE_COLUMNS),
            select(*(_VAR.c[name] for name in _VARIABLE_COLUMNS)).where(
                _VAR.c.process_instance_id == instance_id
            ),
        )
        .on_conflict_do_nothing(index_elements=["process_instance_id", "scope_id", "name"])
    )
    await session.execute(
        _insert(session, _HTASK)
        .from_select(
            list(_TASK_COLUMNS), select(*(_TASK.c[name] for name in _TASK_COLUMNS)).where(tasks_of)
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )
    task_ids = select(_TASK.c.id).where(tasks_of)
    await session.execute(
        _insert(session, _HCAND)
        .from_select(
            ["task_id", "kind", "value"],
            select(_CAND.c.task_id, _CAND.c.kind, _CAND.c.value).where(
                _CAND.c.task_id.in_(task_ids)
            ),
        )
        .on_conflict_do_nothing(index_elements=["task_id", "kind", "value"])
    )
    # Children first, explicitly: correct even where ON DELETE CASCADE is not enforced.
    await session.execute(delete(_VAR).where(_VAR.c.process_instance_id == instance_id))
    await session.execute(delete(_CAND).where(_CAND.c.task_id.in_(task_ids)))
    # Sub-tasks are unlinked first, so the order of the delete cannot matter.
    await session.execute(update(_TASK).where(tasks_of).values(parent_task_id=None))
    await session.execute(delete(_TASK).where(tasks_of))


@dataclass(frozen=True, slots=True)
class HistoricInstanceRecord:
    """One ended instance as its history row tells it."""

    process_instance_id: str
    process_definition_id: int | None
    definition_key: str
    definition_name: str
    definition_version: int
    status: str
    business_key: str | None
    start_time: datetime
    end_time: datetime | None
    duration: int | None
    start_user_id: str | None
    start_activity_id: str | None
    end_activity_id: str | None
    super_process_instance_id: str | None
    delete_reason: str | None
    tenant_id: str
    name: str | None


@dataclass(frozen=True, slots=True)
class HistoricInstanceFilters:
    """Filters of the historic instance list (all optional, combined with AND).

    Times are inclusive lower / exclusive upper bounds; durations are milliseconds, inclusive.
    """

    definition_key: str | None = None
    definition_id: int | None = None
    status: str | None = None
    business_key: str | None = None
    tenant_id: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    ended_after: datetime | None = None
    ended_before: datetime | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    #: Only instances this user started (set by the service for `instance:read_own` callers).
    start_user_id: str | None = None

    def fingerprint(self) -> str:
        """Fingerprint binding a page token to these filters."""
        return filters_fingerprint({k: getattr(self, k) for k in self.__slots__})


def historic_record(row: HistoricProcessInstance) -> HistoricInstanceRecord:
    """Convert a row to a record."""
    return HistoricInstanceRecord(
        process_instance_id=row.process_instance_id,
        process_definition_id=row.process_definition_id,
        definition_key=row.process_definition_key,
        definition_name=row.process_definition_name,
        definition_version=row.process_definition_version,
        status=row.status,
        business_key=row.business_key,
        start_time=row.start_time,
        end_time=row.end_time,
        duration=row.duration,
        start_user_id=row.start_user_id,
        start_activity_id=row.start_activity_id,
        end_activity_id=row.end_activity_id,
        super_process_instance_id=row.super_process_instance_id,
        delete_reason=row.delete_reason,
        tenant_id=row.tenant_id,
        name=row.name,
    )


_EVENT: Table = ProcessEvent.__table__  # type: ignore[assignment]
#: The event columns a record needs, in `EventRecord` field order. Reads select these columns
#: (Core, no ORM identity map): a 1,000-event log is then rows, not 1,000 tracked objects.
_EVENT_COLUMNS: Final = (
    _EVENT.c.sequence,
    _EVENT.c.event_type,
    _EVENT.c.timestamp,
    _EVENT.c.activity_id,
    _EVENT.c.task_id,
    _EVENT.c.event_name,
    _EVENT.c.user_id,
    _EVENT.c.event_data,
)


def _events_select() -> Any:
    return select(*_EVENT_COLUMNS)


def event_record(row: Any) -> EventRecord:
    """Convert a row of `_EVENT_COLUMNS` to a record."""
    return EventRecord(*row)


@dataclass(frozen=True, slots=True)
class TypeFilter:
    """Event types to keep: exact names and ``prefix.*`` families (empty: every type)."""

    exact: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()

    @classmethod
    def parse(cls, values: Sequence[str]) -> TypeFilter:
        """Parse ``?type=`` values: repeatable, comma-separated, ``activity.*`` for a family.

        Raises:
            ValueError: naming ``type`` for an empty name or a ``*`` that is not a suffix.
        """
        exact: list[str] = []
        prefixes: list[str] = []
        for value in values:
            for part in value.split(","):
                name = part.strip()
                if not name:
                    continue
                if name.endswith("*"):
                    stem = name[:-1]
                    if "*" in stem or not stem:
                        raise ValueError(
                            f"type {name!r}: a wildcard is only allowed as a suffix "
                            "after a prefix, e.g. activity.*"
                        )
                    prefixes.append(stem)
                elif "*" in name:
                    raise ValueError(f"type {name!r}: a wildcard is only allowed as a suffix")
                else:
                    exact.append(name)
        return cls(tuple(dict.fromkeys(exact)), tuple(dict.fromkeys(prefixes)))

    def clause(self) -> Any:
        """The WHERE clause, or None when every type is wanted."""
        if not self.exact and not self.prefixes:
            return None
        parts: list[Any] = []
        if self.exact:
            parts.append(ProcessEvent.event_type.in_(self.exact))
        for prefix in self.prefixes:
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            parts.append(ProcessEvent.event_type.like(f"{escaped}%", escape="\\"))
        return or_(*parts)


@dataclass(frozen=True, slots=True)
class InstanceOwner:
    """Whose an instance is: what authorization checks before its history is read."""

    tenant_id: str
    start_user_id: str | None


class HistoryRepository:
    """History reads and retention, within the caller's session (the caller commits).

    Args:
        session: The unit of work to run in.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def instance_exists(self, instance_id: str) -> bool:
        """True when the instance has a runtime row or a history row."""
        found = await self._session.execute(
            select(ProcessInstance.id).where(ProcessInstance.id == instance_id)
        )
        if found.first() is not None:
            return True
        found = await self._session.execute(
            select(HistoricProcessInstance.id).where(
                HistoricProcessInstance.process_instance_id == instance_id
            )
        )
        return found.first() is not None

    async def instance_owner(self, instance_id: str) -> InstanceOwner | None:
        """Tenant and starter of the instance (runtime row, else history row); None: unknown."""
        found = (
            await self._session.execute(
                select(ProcessInstance.tenant_id, ProcessInstance.start_user_id).where(
                    ProcessInstance.id == instance_id
                )
            )
        ).first()
        if found is None:
            found = (
                await self._session.execute(
                    select(
                        HistoricProcessInstance.tenant_id, HistoricProcessInstance.start_user_id
                    ).where(HistoricProcessInstance.process_instance_id == instance_id)
                )
            ).first()
        return None if found is None else InstanceOwner(found[0], found[1])

    async def events(
        self,
        instance_id: str,
        *,
        types: TypeFilter | None = None,
        page_size: int = 100,
        page_token: str | None = None,
    ) -> tuple[builtins.list[EventRecord], str | None]:
        """One page of an instance's event log in sequence order, and the next page's token.

        Raises:
            ValueError: a bad page size, or a page token of another query.
        """
        check_page_size(page_size)
        kinds = types or TypeFilter()
        fingerprint = filters_fingerprint(
            {"instance": instance_id, "exact": kinds.exact, "prefixes": kinds.prefixes}
        )
        stmt = _events_select().where(_EVENT.c.process_instance_id == instance_id)
        clause = kinds.clause()
        if clause is not None:
            stmt = stmt.where(clause)
        if page_token is not None:
            last = decode_page_token(page_token, fingerprint)
            if len(last) != 1 or not isinstance(last[0], int):
                raise ValueError(
                    "page_token is malformed: pass back next_page_token exactly as returned"
                )
            stmt = stmt.where(ProcessEvent.sequence > last[0])
        stmt = stmt.order_by(_EVENT.c.sequence).limit(page_size + 1)
        rows = (await self._session.execute(stmt)).all()
        records = [self._opened(instance_id, r) for r in rows[:page_size]]
        token = None
        if len(rows) > page_size:
            token = encode_page_token([records[-1].sequence], fingerprint)
        return records, token

    async def event_at(self, instance_id: str, sequence: int) -> EventRecord | None:
        """The event with this sequence, or None."""
        row = (
            await self._session.execute(
                _events_select().where(
                    _EVENT.c.process_instance_id == instance_id, _EVENT.c.sequence == sequence
                )
            )
        ).first()
        return None if row is None else self._opened(instance_id, row)

    async def all_events(
        self, instance_id: str, *, node_id: str | None = None
    ) -> builtins.list[EventRecord]:
        """The whole log (or one node's part of it) in sequence order."""
        stmt = _events_select().where(_EVENT.c.process_instance_id == instance_id)
        if node_id is not None:
            stmt = stmt.where(_EVENT.c.activity_id == node_id)
        rows = (await self._session.execute(stmt.order_by(_EVENT.c.sequence))).all()
        return [self._opened(instance_id, r) for r in rows]

    def _opened(self, instance_id: str, row: Any) -> EventRecord:
        """The record of an event row, its sealed values opened (store/sealing.py)."""
        record = event_record(row)
        data = open_stored(self._session, instance_id, record.data)
        return record if data is record.data else replace(record, data=data)

    async def historic_instance(self, instance_id: str) -> HistoricInstanceRecord | None:
        """The history row of an ended instance, or None."""
        row = (
            await self._session.execute(
                select(HistoricProcessInstance).where(
                    HistoricProcessInstance.process_instance_id == instance_id
                )
            )
        ).scalar_one_or_none()
        return None if row is None else historic_record(row)

    async def historic_instances(
        self,
        filters: HistoricInstanceFilters,
        *,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> tuple[builtins.list[HistoricInstanceRecord], str | None]:
        """One page of ended instances, most recently ended first, and the next page's token.

        Raises:
            ValueError: a bad page size, status, range, or a page token of other filters.
        """
        check_page_size(page_size)
        f = filters
        if f.status is not None and f.status not in INSTANCE_STATUSES:
            raise ValueError(
                f"status must be one of {', '.join(INSTANCE_STATUSES)}, got {f.status!r}"
            )
        for name in ("min_duration", "max_duration"):
            value = getattr(f, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be 0 or more milliseconds, got {value}")
        if (
            f.min_duration is not None
            and f.max_duration is not None
            and f.min_duration > f.max_duration
        ):
            raise ValueError("min_duration must not be greater than max_duration")
        h = HistoricProcessInstance
        stmt = select(h)
        conditions: list[Any] = []
        if f.definition_key is not None:
            conditions.append(h.process_definition_key == f.definition_key)
        if f.definition_id is not None:
            conditions.append(h.process_definition_id == f.definition_id)
        if f.status is not None:
            conditions.append(h.status == f.status)
        if f.business_key is not None:
            conditions.append(h.business_key == f.business_key)
        if f.tenant_id is not None:
            conditions.append(h.tenant_id == f.tenant_id)
        if f.start_user_id is not None:
            conditions.append(h.start_user_id == f.start_user_id)
        if f.started_after is not None:
            conditions.append(h.start_time >= f.started_after)
        if f.started_before is not None:
            conditions.append(h.start_time < f.started_before)
        if f.ended_after is not None:
            conditions.append(h.end_time >= f.ended_after)
        if f.ended_before is not None:
            conditions.append(h.end_time < f.ended_before)
        if f.min_duration is not None:
            conditions.append(h.duration >= f.min_duration)
        if f.max_duration is not None:
            conditions.append(h.duration <= f.max_duration)
        fingerprint = f.fingerprint()
        if page_token is not None:
            last = decode_page_token(page_token, fingerprint)
            if len(last) != 1 or not isinstance(last[0], int):
                raise ValueError(
                    "page_token is malformed: pass back next_page_token exactly as returned"
                )
            # Keyset on the row id (insertion order = end order): newest first.
            conditions.append(h.id < last[0])
        stmt = stmt.where(*conditions).order_by(h.id.desc()).limit(page_size + 1)
        rows = (await self._session.execute(stmt)).scalars().all()
        records = [historic_record(r) for r in rows[:page_size]]
        token = None
        if len(rows) > page_size:
            token = encode_page_token([rows[page_size - 1].id], fingerprint)
        return records, token

    async def expired_instance_ids(self, cutoff: datetime, *, limit: int) -> builtins.list[str]:
        """Ids of ended instances whose end is before `cutoff`, oldest end first."""
        h = HistoricProcessInstance
        stmt = (
            select(h.process_instance_id)
            .where(h.end_time < cutoff)
            .order_by(h.end_time, h.id)
            .limit(limit)
        )
        return [str(v) for v in (await self._session.execute(stmt)).scalars()]

    async def delete_instances(self, instance_ids: Sequence[str]) -> int:
        """Delete everything kept of these instances; returns how many history rows went."""
        if not instance_ids:
            return 0
        ids = list(instance_ids)
        htask_ids = select(HistoricTaskInstance.id).where(
            HistoricTaskInstance.process_instance_id.in_(ids)
        )
        task_ids = select(TaskInstance.id).where(TaskInstance.process_instance_id.in_(ids))
        statements: builtins.list[Any] = [
            delete(HistoricTaskCandidate).where(HistoricTaskCandidate.task_id.in_(htask_ids)),
            delete(HistoricTaskInstance).where(HistoricTaskInstance.process_instance_id.in_(ids)),
            delete(HistoricVariableInstance).where(
                HistoricVariableInstance.process_instance_id.in_(ids)
            ),
            delete(ProcessEvent).where(ProcessEvent.process_instance_id.in_(ids)),
            # Leftovers of an instance ended before the move existed (migration 0003).
            delete(TaskCandidate).where(TaskCandidate.task_id.in_(task_ids)),
            delete(ProcessVariable).where(ProcessVariable.process_instance_id.in_(ids)),
            update(TaskInstance)
            .where(TaskInstance.process_instance_id.in_(ids))
            .values(parent_task_id=None),
            delete(TaskInstance).where(TaskInstance.process_instance_id.in_(ids)),
            delete(EventSubscription).where(EventSubscription.process_instance_id.in_(ids)),
            # Children of an expired parent stay, detached (they expire on their own).
            update(ProcessInstance)
            .where(ProcessInstance.super_instance_id.in_(ids))
            .values(super_instance_id=None),
            delete(ProcessInstance).where(ProcessInstance.id.in_(ids)),
        ]
        for statement in statements:
            await self._session.execute(statement.execution_options(synchronize_session=False))
        result = await self._session.execute(
            delete(HistoricProcessInstance)
            .where(HistoricProcessInstance.process_instance_id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def count_events(self, instance_id: str) -> int:
        """How many events the instance's log holds."""
        stmt = select(func.count()).where(ProcessEvent.process_instance_id == instance_id)
        return int((await self._session.execute(stmt)).scalar_one())
