"""User task rows: read, list (inbox queries), and optimistic-lock updates.

Every change made through this repository is a compare-and-set on `version_counter`:
`update_if_version` changes the row only when nobody changed it since it was read, so two
users claiming one task at the same moment cannot both win.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from workflow_engine.store.pagination import (
    check_page_size,
    decode_page_token,
    encode_page_token,
    filters_fingerprint,
)
from workflow_engine.store.tables import (
    OPEN_TASK_STATES,
    TASK_STATES,
    HistoricTaskCandidate,
    HistoricTaskInstance,
    TaskCandidate,
    TaskInstance,
)
from workflow_engine.store.types import utcnow

#: Columns `update_if_version` may change (the engine owns the rest).
_MUTABLE = frozenset(
    {"assignee", "owner", "delegation", "state", "claim_time", "end_time", "priority", "due_date"}
)


@dataclass(frozen=True, slots=True)
class StoredTask:
    """One user task as stored (a plain value, detached from any session)."""

    id: str
    process_instance_id: str
    process_definition_id: int | None
    task_definition_key: str
    name: str
    description: str | None
    state: str
    assignee: str | None
    owner: str | None
    delegation: str | None
    priority: int
    create_time: datetime
    claim_time: datetime | None
    end_time: datetime | None
    due_date: datetime | None
    category: str | None
    form_key: str | None
    execution_id: str | None
    candidate_users: tuple[str, ...]
    candidate_groups: tuple[str, ...]
    tenant_id: str
    version: int

    @property
    def open(self) -> bool:
        """True while the task waits for work (not completed or cancelled)."""
        return self.state in ("created", "claimed", "delegated")


@dataclass(frozen=True, slots=True)
class TaskVisibility:
    """Whose tasks a user may see: assignee, owner, or candidate (user or group) while unassigned.

    Attributes:
        user_id: The user.
        groups: The user's groups (candidate groups match any of them).
    """

    user_id: str
    groups: frozenset[str] = frozenset()

    def allows(self, task: StoredTask) -> bool:
        """The same rule as the query filter, for one task already read."""
        if self.user_id in (task.assignee, task.owner):
            return True
        return task.assignee is None and self.is_candidate(task)

    def is_candidate(self, task: StoredTask) -> bool:
        """Whether the user, or one of their groups, is a candidate of `task`."""
        return self.user_id in task.candidate_users or not self.groups.isdisjoint(
            task.candidate_groups
        )


@dataclass(frozen=True, slots=True)
class TaskFilters:
    """Inbox filters (all optional, combined with AND).

    `visible_to` limits the result to one user's own and candidate tasks (role `user`); the
    service sets it from the acting principal, in the same query as the other filters.
    """

    assignee: str | None = None
    candidate_user: str | None = None
    candidate_group: str | None = None
    instance_id: str | None = None
    state: str | None = None
    tenant_id: str | None = None
    visible_to: TaskVisibility | None = None


def stored_task(row: TaskInstance | HistoricTaskInstance) -> StoredTask:
    """Convert a row (live, or moved to history when its instance ended) to a record."""
    return StoredTask(
        id=row.id,
        process_instance_id=row.process_instance_id,
        process_definition_id=row.process_definition_id,
        task_definition_key=row.task_definition_key,
        name=row.name,
        description=row.description,
        state=row.state,
        assignee=row.assignee,
        owner=row.owner,
        delegation=row.delegation,
        priority=row.priority,
        create_time=row.create_time,
        claim_time=row.claim_time,
        end_time=row.end_time,
        due_date=row.due_date,
        category=row.category,
        form_key=row.form_key,
        execution_id=row.execution_id,
        candidate_users=tuple(row.candidate_users or ()),
        candidate_groups=tuple(row.candidate_groups or ()),
        tenant_id=row.tenant_id,
        version=row.version_counter,
    )


def _visible(
    task: type[TaskInstance] | type[HistoricTaskInstance],
    candidate: type[TaskCandidate] | type[HistoricTaskCandidate],
    who: TaskVisibility,
) -> ColumnElement[bool]:
    # One correlated EXISTS on the candidate table (its unique (task_id, kind, value) index
    # answers it), so an inbox page is one query whatever the number of groups.
    is_candidate = [and_(candidate.kind == "user", candidate.value == who.user_id)]
    if who.groups:
        is_candidate.append(
            and_(candidate.kind == "group", candidate.value.in_(sorted(who.groups)))
        )
    return or_(
        task.assignee == who.user_id,
        task.owner == who.user_id,
        and_(
            task.assignee.is_(None),
            exists().where(candidate.task_id == task.id, or_(*is_candidate)),
        ),
    )


class TaskRepository:
    """Task rows, within the caller's session (the caller commits).

    Args:
        session: The unit of work to run in.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, task_id: str) -> StoredTask | None:
        """The task with this id, or None (always read fresh from the database)."""
        stmt = (
            select(TaskInstance)
            .where(TaskInstance.id == task_id)
            .execution_options(populate_existing=True)
        )
        row = (await self._session.execute(stmt)).scalar_one_or_none()
        if row is not None:
            return stored_task(row)
        # The tasks of an ended instance live in the history table (store/history.py).
        moved = (
            await self._session.execute(
                select(HistoricTaskInstance).where(HistoricTaskInstance.id == task_id)
            )
        ).scalar_one_or_none()
        return stored_task(moved) if moved is not None else None

    async def list(
        self, filters: TaskFilters, *, page_size: int = 50, page_token: str | None = None
    ) -> tuple[list[StoredTask], str | None]:
        """One page of tasks, oldest first, and the next page's token.

        Raises:
            ValueError: A bad page size or state, or a page token of other filters.
        """
        check_page_size(page_size)
        if filters.state is not None and filters.state not in TASK_STATES:
            raise ValueError(
                f"state must be one of {', '.join(TASK_STATES)}, got {filters.state!r}"
            )
        fingerprint = filters_fingerprint(
            {
                "assignee": filters.assignee,
                "candidate_user": filters.candidate_user,
                "candidate_group": filters.candidate_group,
                "instance_id": filters.instance_id,
                "state": filters.state,
                "tenant_id": filters.tenant_id,
                "visible_to": None
                if filters.visible_to is None
                else [filters.visible_to.user_id, sorted(filters.visible_to.groups)],
            }
        )
        after: tuple[datetime, str] | None = None
        if page_token is not None:
            last = decode_page_token(page_token, fingerprint)
            if len(last) != 2 or not all(isinstance(v, str) for v in last):
                raise ValueError(
                    "page_token is malformed: pass back next_page_token exactly as returned"
                )
            after = (datetime.fromisoformat(last[0]), last[1])
        rows = await self._page(TaskInstance, TaskCandidate, filters, after, page_size + 1)
        if filters.state is None or filters.state not in OPEN_TASK_STATES:
            # Closed tasks of ended instances were moved to history: merge both keysets.
            rows += await self._page(
                HistoricTaskInstance, HistoricTaskCandidate, filters, after, page_size + 1
            )
            rows.sort(key=lambda r: (r.create_time, r.id))
        records = [stored_task(r) for r in rows[:page_size]]
        token = None
        if len(rows) > page_size:
            tail = records[-1]
            token = encode_page_token([tail.create_time.isoformat(), tail.id], fingerprint)
        return records, token

    async def _page(
        self,
        task: type[TaskInstance] | type[HistoricTaskInstance],
        candidate: type[TaskCandidate] | type[HistoricTaskCandidate],
        filters: TaskFilters,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> builtins.list[TaskInstance | HistoricTaskInstance]:
        stmt = select(task)
        if filters.assignee is not None:
            stmt = stmt.where(task.assignee == filters.assignee)
        for kind, value in (("user", filters.candidate_user), ("group", filters.candidate_group)):
            if value is not None:
                stmt = stmt.where(
                    exists().where(
                        candidate.task_id == task.id,
                        candidate.kind == kind,
                        candidate.value == value,
                    )
                )
        if filters.instance_id is not None:
            stmt = stmt.where(task.process_instance_id == filters.instance_id)
        if filters.state is not None:
            stmt = stmt.where(task.state == filters.state)
        if filters.tenant_id is not None:
            stmt = stmt.where(task.tenant_id == filters.tenant_id)
        if filters.visible_to is not None:
            stmt = stmt.where(_visible(task, candidate, filters.visible_to))
        if after is not None:
            last_time, last_id = after
            stmt = stmt.where(
                (task.create_time > last_time)
                | ((task.create_time == last_time) & (task.id > last_id))
            )
        stmt = stmt.order_by(task.create_time, task.id).limit(limit)
        if task is TaskInstance:
            stmt = stmt.execution_options(populate_existing=True)
        found: Sequence[Any] = (await self._session.execute(stmt)).scalars().all()
        return builtins.list(found)

    async def update_if_version(self, task_id: str, version: int, **changes: Any) -> bool:
        """Apply `changes` only if the row still has `version`; bump the version.

        Returns:
            True if the row was changed; False if it changed meanwhile (a lost race) or is gone.

        Raises:
            ValueError: for a column that is not user-changeable.
        """
        unknown = set(changes) - _MUTABLE
        if unknown:
            raise ValueError(f"task columns {sorted(unknown)} cannot be changed here")
        stmt = (
            update(TaskInstance)
            .where(TaskInstance.id == task_id, TaskInstance.version_counter == version)
            .values(
                **changes,
                version_counter=TaskInstance.version_counter + 1,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))
