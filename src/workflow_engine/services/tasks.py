"""User tasks: the inbox (list, get), claim / unclaim / assign / delegate / resolve, complete.

Claim and friends move no token: they change the task row only, each as a compare-and-set on
the row's version (a lost race is a 409, never a silent overwrite). Completion goes to the
workflow as the `complete_task` update; the workflow's validator has the last word.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from workflow_engine.engine.contract import (
    UPDATE_COMPLETE_TASK,
    CompleteTaskRequest,
    CompleteTaskResult,
)
from workflow_engine.services.definitions import DefinitionService
from workflow_engine.services.errors import ConflictError, InvalidArgumentError, NotFoundError
from workflow_engine.services.variables import (
    check_variables,
    raise_if_invalid,
    require_variable_map,
)
from workflow_engine.services.workflows import WorkflowGateway
from workflow_engine.store.database import Database
from workflow_engine.store.tables import OPEN_TASK_STATES, TaskInstance
from workflow_engine.store.tasks import StoredTask, TaskFilters, TaskRepository
from workflow_engine.store.types import utcnow

MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class TaskPage:
    """One page of an inbox query."""

    items: list[StoredTask]
    next_page_token: str | None


def _user(user_id: str | None, action: str) -> str:
    if user_id is None or not user_id.strip():
        raise InvalidArgumentError(f"user_id is required to {action} a task")
    return user_id.strip()


class TaskService:
    """Use cases of user tasks.

    Args:
        database: The application database.
        definitions: For the declared variable types checked at completion.
        workflows: The door to Temporal.
    """

    def __init__(
        self, *, database: Database, definitions: DefinitionService, workflows: WorkflowGateway
    ) -> None:
        self._db = database
        self._definitions = definitions
        self._workflows = workflows

    async def get(self, task_id: str) -> StoredTask:
        """One task.

        Raises:
            NotFoundError: no such task.
        """
        async with self._db.session() as session:
            task = await TaskRepository(session).get(task_id)
        if task is None:
            raise NotFoundError(f"task {task_id} does not exist")
        return task

    async def list(
        self, filters: TaskFilters, *, page_size: int = 50, page_token: str | None = None
    ) -> TaskPage:
        """A page of tasks matching `filters`, oldest first.

        Raises:
            InvalidArgumentError: a bad page size, state or page token.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidArgumentError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        async with self._db.session() as session:
            try:
                items, token = await TaskRepository(session).list(
                    filters, page_size=page_size, page_token=page_token
                )
            except ValueError as exc:
                raise InvalidArgumentError(str(exc)) from exc
        return TaskPage(items, token)

    async def _open(self, task_id: str, action: str) -> StoredTask:
        task = await self.get(task_id)
        if not task.open:
            raise ConflictError(f"task {task_id} is {task.state}: cannot {action} it")
        return task

    async def _change(self, task: StoredTask, **changes: Any) -> StoredTask:
        async with self._db.session() as session:
            repo = TaskRepository(session)
            if not await repo.update_if_version(task.id, task.version, **changes):
                raise ConflictError(
                    f"task {task.id} was changed by someone else meanwhile: reload it and retry"
                )
            fresh = await repo.get(task.id)
        assert fresh is not None
        return fresh

    async def claim(self, task_id: str, *, user_id: str | None) -> StoredTask:
        """Take an unassigned task (claiming one's own task again is a no-op).

        Raises:
            NotFoundError / ConflictError: no such task; closed, delegated, or someone
                else's; or a lost race.
        """
        user = _user(user_id, "claim")
        task = await self._open(task_id, "claim")
        if task.delegation == "pending":
            raise ConflictError(f"task {task_id} is delegated to {task.assignee}: resolve it first")
        if task.assignee is not None and task.assignee != user:
            raise ConflictError(f"task {task_id} is already claimed by {task.assignee}")
        if task.assignee == user and task.state == "claimed":
            return task
        return await self._change(task, assignee=user, state="claimed", claim_time=utcnow())

    async def unclaim(self, task_id: str, *, user_id: str | None = None) -> StoredTask:
        """Give a task back to its candidates.

        Raises:
            NotFoundError / ConflictError: no such task; closed or delegated; a lost race.
        """
        task = await self._open(task_id, "unclaim")
        if task.delegation == "pending":
            raise ConflictError(f"task {task_id} is delegated: resolve it first")
        if user_id is not None and task.assignee not in (None, user_id):
            raise ConflictError(f"task {task_id} is claimed by {task.assignee}, not {user_id}")
        return await self._change(task, assignee=None, state="created", claim_time=None)

    async def assign(self, task_id: str, *, user_id: str | None) -> StoredTask:
        """Set the assignee, whoever had it (an administrator's action).

        Raises:
            NotFoundError / ConflictError: no such task; closed; a lost race.
        """
        user = _user(user_id, "assign")
        task = await self._open(task_id, "assign")
        return await self._change(
            task, assignee=user, state="claimed", claim_time=utcnow(), delegation=None
        )

    async def delegate(self, task_id: str, *, user_id: str | None) -> StoredTask:
        """Hand the task to `user_id` for help; the current assignee stays its owner.

        Raises:
            NotFoundError / ConflictError: no such task; closed, unassigned or already
                delegated; a lost race.
        """
        user = _user(user_id, "delegate")
        task = await self._open(task_id, "delegate")
        if task.delegation == "pending":
            raise ConflictError(f"task {task_id} is delegated already: resolve it first")
        if task.assignee is None:
            raise ConflictError(f"task {task_id} has no assignee: claim or assign it first")
        return await self._change(
            task, owner=task.assignee, assignee=user, delegation="pending", state="delegated"
        )

    async def resolve(self, task_id: str, *, user_id: str | None = None) -> StoredTask:
        """The delegate is done: the task goes back to its owner.

        Raises:
            NotFoundError / ConflictError: no such task; not delegated; a lost race.
        """
        task = await self._open(task_id, "resolve")
        if task.delegation != "pending":
            raise ConflictError(f"task {task_id} is not delegated: nothing to resolve")
        return await self._change(task, assignee=task.owner, delegation="resolved", state="claimed")

    async def complete(
        self,
        task_id: str,
        *,
        variables: Mapping[str, Any] | None = None,
        user_id: str | None = None,
    ) -> CompleteTaskResult:
        """Complete a task with output variables (the instance moves on).

        Raises:
            NotFoundError: no such task.
            ConflictError: closed, or delegated (resolve it first); the workflow refused it.
            ValidationFailedError: a declared variable has the wrong type (or the workflow
                rejected the variables).
        """
        given = require_variable_map(variables)
        task = await self._open(task_id, "complete")
        if task.delegation == "pending":
            raise ConflictError(
                f"task {task_id} is delegated to {task.assignee}: resolve it before completing"
            )
        if task.process_definition_id is not None:
            model = await self._definitions.model(task.process_definition_id)
            raise_if_invalid(check_variables(model.process.variables, given, require=False))
        result = await self._workflows.update(
            task.process_instance_id,
            UPDATE_COMPLETE_TASK,
            CompleteTaskRequest(task_id=task_id, variables=given, user_id=user_id),
            result_type=CompleteTaskResult,
        )
        # The inbox shows it closed at once; the engine's batch later writes the same state.
        async with self._db.session() as session:
            await session.execute(
                update(TaskInstance)
                .where(TaskInstance.id == task_id, TaskInstance.state.in_(OPEN_TASK_STATES))
                .values(
                    state="completed",
                    end_time=utcnow(),
                    assignee=task.assignee or user_id,
                    version_counter=TaskInstance.version_counter + 1,
                    updated_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
        return result
