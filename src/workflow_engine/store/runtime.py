"""The runtime projection: writes what the workflow reports (a `RuntimeBatch`) to the tables.

Temporal is the source of truth; these tables are the query model. Applying a batch is
idempotent and ordered, so activity retries and duplicate deliveries are harmless:

* events are insert-or-ignore on `(process_instance_id, sequence)`;
* everything else (status, active elements, variables, tasks, subscriptions, end) is applied
  only when the batch's `through_sequence` is not older than the instance's `last_sequence`:
  a retried *old* batch arriving after a newer one cannot roll state back. An equal sequence
  is applied again (a batch without new events still carries state; re-applying identical
  state changes nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from workflow_engine.engine.contract import EngineEvent, RuntimeBatch, TaskRecord
from workflow_engine.store.history import move_to_history
from workflow_engine.store.sealing import known_values, sealing_of
from workflow_engine.store.subscriptions import NewSubscription, SubscriptionRepository
from workflow_engine.store.tables import (
    ENDED_INSTANCE_STATUSES,
    INSTANCE_STATUSES,
    OPEN_TASK_STATES,
    HistoricProcessInstance,
    ProcessDefinition,
    ProcessEvent,
    ProcessInstance,
    ProcessVariable,
    TaskCandidate,
    TaskInstance,
)
from workflow_engine.store.types import utcnow

#: Task states the workflow reports (TaskRecord.state).
_WORKFLOW_TASK_STATES = ("created", "completed", "cancelled")

# Core tables: the projection's statements bypass the ORM unit of work (no identity map, no
# per-row object), which is most of a batch's CPU otherwise.
_INSTANCE: Table = ProcessInstance.__table__  # type: ignore[assignment]
_EVENT: Table = ProcessEvent.__table__  # type: ignore[assignment]
_VARIABLE: Table = ProcessVariable.__table__  # type: ignore[assignment]


class _InstanceRow(NamedTuple):
    """The instance columns a batch needs after its state update (RETURNING)."""

    id: str
    tenant_id: str
    process_definition_id: int | None
    definition_key: str
    definition_version: int
    business_key: str | None
    start_user_id: str | None
    start_time: datetime
    activity_id: str | None
    super_instance_id: str | None
    name: str | None


_RETURNED = tuple(_INSTANCE.c[name] for name in _InstanceRow._fields)


def _unchanged(data: Any) -> Any:
    return data


class InstanceMissingError(LookupError):
    """The batch names an instance that has no row (deleted, or never registered)."""


@dataclass(frozen=True, slots=True)
class InsertedEvent:
    """An event row this batch inserted (not a duplicate): what live streams publish."""

    id: int
    sequence: int


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What applying a batch did.

    `inserted`, `definition_key`, `tenant_id` and `status` (the instance's status after the
    batch) describe the new events for the live event bus; the context fields are None when
    nothing was inserted.
    """

    events_inserted: int
    state_applied: bool
    inserted: tuple[InsertedEvent, ...] = ()
    definition_key: str | None = None
    tenant_id: str | None = None
    status: str | None = None


def parse_time(value: str, *, field: str) -> datetime:
    """Parse an ISO 8601 time the workflow wrote; naive values are taken as UTC.

    Raises:
        ValueError: naming the field when the text is not a time.
    """
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field} is not an ISO 8601 time: {value!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def infer_type(value: object) -> str:
    """The stored type name of a JSON value (`process_variable.type`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def insert_ignoring(session: AsyncSession, table: Any) -> Any:
    """An INSERT for the session's dialect that supports ON CONFLICT clauses."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# Upsert statements, built once per dialect: building one anew costs more CPU than running it
# (`.excluded` copies every column of the table, and a new object must compute its cache key
# before the compiled form is found). The statements carry no values; rows go as parameters.
_UPSERTS: dict[tuple[str, str], Any] = {}


def _variable_upsert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    stmt = _UPSERTS.get((dialect, "variable"))
    if stmt is None:
        stmt = insert_ignoring(session, _VARIABLE)
        stmt = stmt.on_conflict_do_update(
            index_elements=["process_instance_id", "scope_id", "name"],
            set_={
                "value": stmt.excluded.value,
                "type": stmt.excluded.type,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        _UPSERTS[(dialect, "variable")] = stmt
    return stmt


# The conditional state UPDATE, one per set of written columns (at most 8): built once, run
# with bind parameters (`v_<column>` for values, `b_id` / `b_through` for the condition).
_STATE_UPDATES: dict[tuple[str, ...], Any] = {}


def _state_update(columns: tuple[str, ...]) -> Any:
    stmt = _STATE_UPDATES.get(columns)
    if stmt is None:
        values: dict[str, Any] = {
            name: bindparam(f"v_{name}", type_=_INSTANCE.c[name].type) for name in columns
        }
        values["version_counter"] = _INSTANCE.c.version_counter + 1
        stmt = (
            update(_INSTANCE)
            .where(
                _INSTANCE.c.id == bindparam("b_id"),
                _INSTANCE.c.last_sequence <= bindparam("b_through"),
                # An ended instance is final: a resent last batch must not write task or
                # variable rows again after they moved to the history tables.
                _INSTANCE.c.status.not_in(ENDED_INSTANCE_STATUSES),
            )
            .values(values)
            .returning(*_RETURNED)
        )
        _STATE_UPDATES[columns] = stmt
    return stmt


def _history_upsert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    stmt = _UPSERTS.get((dialect, "history"))
    if stmt is None:
        stmt = insert_ignoring(session, HistoricProcessInstance.__table__)
        stmt = stmt.on_conflict_do_update(
            index_elements=["process_instance_id"],
            # `updated_at` of the inserted row is the time of this write.
            set_={
                k: stmt.excluded[k]
                for k in (
                    "status",
                    "end_time",
                    "duration",
                    "end_activity_id",
                    "delete_reason",
                    "updated_at",
                )
            },
        )
        _UPSERTS[(dialect, "history")] = stmt
    return stmt


# The end batch's statements, built once (bind parameters only; see `_UPSERTS` for why).
_TASK: Table = TaskInstance.__table__  # type: ignore[assignment]
_SET_DURATION = (
    update(_INSTANCE)
    .where(_INSTANCE.c.id == bindparam("b_id"))
    .values(duration=bindparam("v_duration", type_=_INSTANCE.c.duration.type))
)
_CANCEL_OPEN_TASKS = (
    update(_TASK)
    .where(
        _TASK.c.process_instance_id == bindparam("b_instance"),
        _TASK.c.state.in_(OPEN_TASK_STATES),
    )
    .values(
        state="cancelled",
        end_time=bindparam("v_end_time", type_=_TASK.c.end_time.type),
        version_counter=_TASK.c.version_counter + 1,
        updated_at=bindparam("v_updated_at", type_=_TASK.c.updated_at.type),
    )
)
# The definition's name and the start event's node, read in one statement.
_HISTORY_CONTEXT = select(
    select(ProcessDefinition.name)
    .where(ProcessDefinition.id == bindparam("b_definition"))
    .scalar_subquery(),
    select(ProcessEvent.activity_id)
    .where(
        ProcessEvent.process_instance_id == bindparam("b_instance"),
        # `process.started` names no node: the first node event is the start event's.
        ProcessEvent.activity_id.is_not(None),
    )
    .order_by(ProcessEvent.sequence)
    .limit(1)
    .scalar_subquery(),
)


async def lock_instance_row(session: AsyncSession, instance_id: str) -> bool:
    """Lock an instance's row for the rest of the transaction; False when there is none.

    Every transaction that writes an instance's runtime rows takes this lock FIRST: the batch
    projection and an operator's variable change then queue up instead of deadlocking on
    PostgreSQL (variable rows hold a key-share lock on the instance row through their foreign
    key). SQLite serialises whole transactions already and ignores the clause.
    """
    stmt = select(_INSTANCE.c.id).where(_INSTANCE.c.id == instance_id).with_for_update()
    return (await session.execute(stmt)).first() is not None


async def upsert_variables(
    session: AsyncSession, instance_id: str, variables: Mapping[str, Any]
) -> None:
    """Insert or update instance-wide variables (type inferred from the value)."""
    if not variables:
        return
    sealing = sealing_of(session)
    stored: Mapping[str, Any] = variables
    if sealing is not None:
        names = await sealing.sensitive_names(session, instance_id)
        stored = sealing.seal_variables(instance_id, variables, names)
    now = utcnow()
    rows = [
        {
            "process_instance_id": instance_id,
            "scope_id": "",
            "name": name,
            # The type of the value itself, not of its encrypted envelope.
            "type": infer_type(value),
            "value": stored[name],
            "scope": "global",
            "serializer_name": "json",
            "is_active": True,
            "created_at": now,
            "updated_at": now,
        }
        for name, value in variables.items()
    ]
    # One statement with the rows as executemany parameters: its compiled form is cached
    # (a multi-row VALUES clause would be compiled anew for every row count).
    await session.execute(_variable_upsert(session), rows)


class RuntimeProjection:
    """Applies runtime batches within the caller's session (the caller commits).

    Args:
        session: The unit of work; one batch should be one transaction.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def apply(self, batch: RuntimeBatch) -> ApplyResult:
        """Apply one batch (see the module docstring for the rules).

        A step's batch costs three statements (instance state, events, variables): the state
        update is conditional on the sequence and also takes the row lock, so no separate
        SELECT ... FOR UPDATE precedes it.

        Raises:
            InstanceMissingError: when the instance has no row.
            ValueError: for a status, task state or time the workflow should never send.
        """
        if batch.status not in INSTANCE_STATUSES:
            raise ValueError(
                f"batch.status must be one of {', '.join(INSTANCE_STATUSES)}, got {batch.status!r}"
            )
        ended = batch.status in ENDED_INSTANCE_STATUSES
        end_time: datetime | None = None
        if ended:
            end_time = parse_time(batch.ended_at, field="ended_at") if batch.ended_at else utcnow()
        row = await self._update_instance_state(batch, ended=ended, end_time=end_time)
        if row is None:
            # Not applied: the instance has no row, or the batch is a retry of an older one
            # (its events are still inserted-or-ignored, under the row lock).
            if not await self._lock_instance(batch.instance_id):
                raise InstanceMissingError(f"process instance {batch.instance_id} has no row")
            inserted = await self._insert_events(batch.instance_id, batch.events)
            if not inserted:
                return ApplyResult(events_inserted=0, state_applied=False)
            context = (
                await self._session.execute(
                    select(
                        _INSTANCE.c.definition_key, _INSTANCE.c.tenant_id, _INSTANCE.c.status
                    ).where(_INSTANCE.c.id == batch.instance_id)
                )
            ).one()
            return ApplyResult(
                events_inserted=len(inserted),
                state_applied=False,
                inserted=tuple(inserted),
                definition_key=context[0],
                tenant_id=context[1],
                status=context[2],
            )
        inserted = await self._insert_events(batch.instance_id, batch.events)
        await upsert_variables(self._session, batch.instance_id, batch.variables)
        for index, task in enumerate(batch.tasks):
            await self._upsert_task(row, task, index)
        subscriptions = SubscriptionRepository(self._session)
        if ended:
            await subscriptions.clear(batch.instance_id)
        elif batch.subscriptions is not None:
            await subscriptions.replace(
                batch.instance_id,
                (
                    NewSubscription(
                        kind=s.kind,
                        name=s.name,
                        node_id=s.node_id,
                        execution_id=s.execution_id,
                        correlation_key=s.correlation_key,
                    )
                    for s in batch.subscriptions
                ),
                tenant_id=row.tenant_id,
            )
        if ended and end_time is not None:
            await self._end_instance(row, batch, end_time)
        return ApplyResult(
            events_inserted=len(inserted),
            state_applied=True,
            inserted=tuple(inserted),
            definition_key=row.definition_key,
            tenant_id=row.tenant_id,
            status=batch.status,
        )

    async def _lock_instance(self, instance_id: str) -> bool:
        return await lock_instance_row(self._session, instance_id)

    async def _insert_events(
        self, instance_id: str, events: list[EngineEvent]
    ) -> list[InsertedEvent]:
        if not events:
            return []
        now = utcnow()
        seal = await self._event_sealer(instance_id, events)
        rows = [
            {
                "process_instance_id": instance_id,
                "sequence": e.sequence,
                "event_type": e.type,
                "event_name": e.name,
                "activity_id": e.activity_id,
                "task_id": e.task_id,
                "user_id": e.user_id,
                "event_data": seal(e.data),
                "timestamp": parse_time(e.timestamp, field=f"events[{i}].timestamp"),
                "source": "engine",
                "correlation_id": None,
                "created_at": now,
            }
            for i, e in enumerate(events)
        ]
        # executemany with RETURNING: SQLAlchemy sends it as one INSERT (insertmanyvalues)
        # from a cached compiled statement; ignored duplicates return no row.
        stmt = (
            insert_ignoring(self._session, _EVENT)
            .on_conflict_do_nothing(index_elements=["process_instance_id", "sequence"])
            .returning(_EVENT.c.id, _EVENT.c.sequence)
        )
        found = (await self._session.execute(stmt, rows)).all()
        return [InsertedEvent(id=r[0], sequence=r[1]) for r in found]

    async def _event_sealer(
        self, instance_id: str, events: list[EngineEvent]
    ) -> Callable[[Any], Any]:
        """Seals sensitive values in event data (identity when nothing is sensitive)."""
        sealing = sealing_of(self._session)
        if sealing is None:
            return _unchanged
        names = await sealing.sensitive_names(self._session, instance_id)
        if not names:
            return _unchanged
        # Values of the sensitive variables (this batch's and those stored): copies under
        # other names and messages quoting them are sealed too.
        values = await sealing.stored_values(self._session, instance_id, names)
        for e in events:
            values |= known_values(e.data, names)
        return lambda data: sealing.seal_data(instance_id, data, names, values)

    async def _update_instance_state(
        self, batch: RuntimeBatch, *, ended: bool, end_time: datetime | None
    ) -> _InstanceRow | None:
        """Apply the snapshot columns unless the batch is older; None when nothing matched."""
        values: dict[str, Any] = {
            "status": batch.status,
            "active_activity_ids": [] if ended else list(batch.active_node_ids),
            "last_sequence": batch.through_sequence,
            "updated_at": utcnow(),
        }
        entered = [e.activity_id for e in batch.events if e.activity_id]
        if entered:
            values["activity_id"] = entered[-1]
        elif batch.active_node_ids:
            values["activity_id"] = batch.active_node_ids[-1]
        if ended:
            values["end_time"] = end_time
            values["delete_reason"] = batch.end_reason
        elif batch.end_reason is not None:
            values["delete_reason"] = batch.end_reason
        params = {f"v_{k}": v for k, v in values.items()}
        params["b_id"] = batch.instance_id
        params["b_through"] = batch.through_sequence
        stmt = _state_update(tuple(values))
        found = (await self._session.execute(stmt, params)).first()
        return None if found is None else _InstanceRow(*found)

    async def _upsert_task(self, instance: _InstanceRow, task: TaskRecord, index: int) -> None:
        where = f"tasks[{index}]"
        if task.state not in _WORKFLOW_TASK_STATES:
            raise ValueError(
                f"{where}.state must be one of {', '.join(_WORKFLOW_TASK_STATES)}, "
                f"got {task.state!r}"
            )
        ended_at = parse_time(task.ended_at, field=f"{where}.ended_at") if task.ended_at else None
        existing = (
            await self._session.execute(
                select(TaskInstance)
                .where(TaskInstance.id == task.task_id)
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()
        if existing is None:
            created = parse_time(task.created_at, field=f"{where}.created_at")
            due = parse_time(task.due_date, field=f"{where}.due_date") if task.due_date else None
            self._session.add(
                TaskInstance(
                    id=task.task_id,
                    process_instance_id=instance.id,
                    process_definition_id=instance.process_definition_id,
                    execution_id=task.execution_id,
                    name=task.name,
                    description=task.description,
                    task_definition_key=task.node_id,
                    state=task.state,
                    priority=task.priority,
                    create_time=created,
                    end_time=ended_at,
                    due_date=due,
                    category=task.category,
                    assignee=task.assignee or task.completed_by,
                    form_key=task.form_key,
                    candidate_users=list(task.candidate_users),
                    candidate_groups=list(task.candidate_groups),
                    tenant_id=instance.tenant_id,
                    created_at=created,
                    updated_at=utcnow(),
                )
            )
            # No ORM relationship orders the inserts: the task row must exist first.
            await self._session.flush()
            self._session.add_all(
                [
                    TaskCandidate(task_id=task.task_id, kind="user", value=u)
                    for u in dict.fromkeys(task.candidate_users)
                ]
                + [
                    TaskCandidate(task_id=task.task_id, kind="group", value=g)
                    for g in dict.fromkeys(task.candidate_groups)
                ]
            )
            await self._session.flush()
            return
        if task.state == "created" or existing.state not in OPEN_TASK_STATES:
            # Claims and assignments are the inbox's (database-only); a closed task stays
            # closed. Only closing an open task is the workflow's news here.
            return
        await self._session.execute(
            update(TaskInstance)
            .where(TaskInstance.id == task.task_id)
            .values(
                state=task.state,
                end_time=ended_at or utcnow(),
                assignee=existing.assignee or task.completed_by,
                version_counter=TaskInstance.version_counter + 1,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )

    async def _end_instance(
        self, row: _InstanceRow, batch: RuntimeBatch, end_time: datetime
    ) -> None:
        duration = max(0, int((end_time - row.start_time).total_seconds() * 1000))
        await self._session.execute(_SET_DURATION, {"b_id": row.id, "v_duration": duration})
        await self._cancel_open_tasks(row.id, end_time)
        await self._write_history(row, batch, end_time, duration)
        # Same transaction: a reader finds the tasks and variables in exactly one place.
        await move_to_history(self._session, row.id)

    async def _cancel_open_tasks(self, instance_id: str, end_time: datetime) -> None:
        # A terminated instance may not report each of its tasks; none may stay in an inbox.
        await self._session.execute(
            _CANCEL_OPEN_TASKS,
            {"b_instance": instance_id, "v_end_time": end_time, "v_updated_at": utcnow()},
        )

    async def _write_history(
        self, row: _InstanceRow, batch: RuntimeBatch, end_time: datetime, duration: int
    ) -> None:
        found = (
            await self._session.execute(
                _HISTORY_CONTEXT,
                {"b_definition": row.process_definition_id, "b_instance": row.id},
            )
        ).one()
        now = utcnow()
        history = {
            "process_instance_id": row.id,
            "process_definition_id": row.process_definition_id,
            "process_definition_key": row.definition_key,
            "process_definition_name": found[0] or "",
            "process_definition_version": row.definition_version,
            "status": batch.status,
            "business_key": row.business_key,
            "start_time": row.start_time,
            "end_time": end_time,
            "duration": duration,
            "start_user_id": row.start_user_id,
            "start_activity_id": found[1],
            "end_activity_id": row.activity_id,
            "super_process_instance_id": row.super_instance_id,
            "delete_reason": batch.end_reason,
            "tenant_id": row.tenant_id,
            "name": row.name,
            "created_at": now,
            "updated_at": now,
        }
        await self._session.execute(_history_upsert(self._session), history)
