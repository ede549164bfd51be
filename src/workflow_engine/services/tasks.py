"""User tasks: the inbox (list, get), claim / unclaim / assign / delegate / resolve, complete.

Claim and friends move no token: they change the task row only, each as a compare-and-set on
the row's version (a lost race is a 409, never a silent overwrite). Completion goes to the
workflow as the `complete_task` update; the workflow's validator has the last word.

Authorization (issue 6), applied to the acting principal (`current_principal()`):

- Seeing: `task:read` (operators, admins) sees every task of the tenant; `task:work` (users)
  sees the tasks they are assignee or owner of, and those they are a candidate of (as user or
  through a group) while unassigned. Another tenant's task, or an invisible one, answers 404
  exactly like a missing one.
- Task variables: whoever sees a task reads its instance's variables (sensitive ones
  masked), even without `instance:read` on that instance (a candidate of someone else's).
- Claim: a candidate (or `task:manage`). Unclaim: the assignee (or `task:manage`). Assign
  (set anyone): `task:manage`. Delegate: the assignee (or `task:manage`); the assignee becomes
  the owner. Resolve: only the delegate; the task goes back to the owner, who then completes.
  Complete: the assignee; before claim, a candidate (or `task:manage`). A delegated task is
  resolved before it can be completed (409, as before).
- A body `user_id` naming the actor (claim, unclaim, resolve, complete) must be absent or the
  principal's own id; absent means the principal. `assign` / `delegate` name a target.
- The system principal (internal callers, auth off) keeps the behaviour from before auth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import update

from workflow_engine.engine.contract import (
    UPDATE_COMPLETE_TASK,
    CompleteTaskRequest,
    CompleteTaskResult,
)
from workflow_engine.model.form_fields import check_form_values, form_fields
from workflow_engine.security.context import current_principal
from workflow_engine.security.permissions import Permission, permissions_of, require
from workflow_engine.security.principal import Principal
from workflow_engine.services.access import acting_user
from workflow_engine.services.audit import audited
from workflow_engine.services.definitions import DefinitionService
from workflow_engine.services.errors import (
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)
from workflow_engine.services.masking import masked_variables
from workflow_engine.services.payload_limits import PayloadLimits
from workflow_engine.services.reconciler import ReconcilerService
from workflow_engine.services.variables import (
    check_variables,
    raise_if_invalid,
    require_variable_map,
)
from workflow_engine.services.workflows import (
    UpdateOutcomeUnknownError,
    WorkflowGateway,
    WorkflowGoneError,
)
from workflow_engine.store.database import Database
from workflow_engine.store.instances import InstanceRepository
from workflow_engine.store.reconcile import ended_task_state
from workflow_engine.store.tables import OPEN_TASK_STATES, TaskInstance
from workflow_engine.store.tasks import StoredTask, TaskFilters, TaskRepository, TaskVisibility
from workflow_engine.store.types import utcnow

MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class TaskVariables:
    """The variables of a task's instance as the task's viewer may see them (masked)."""

    task_id: str
    instance_id: str
    variables: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TaskPage:
    """One page of an inbox query."""

    items: list[StoredTask]
    next_page_token: str | None


def _user(user_id: str | None, action: str) -> str:
    if user_id is None or not user_id.strip():
        raise InvalidArgumentError(f"user_id is required to {action} a task")
    return user_id.strip()


def _visibility(who: Principal) -> TaskVisibility | None:
    """None: every task of the visible tenants (`task:read`); else the user's own tasks.

    Raises:
        PermissionDeniedError: neither `task:read` nor `task:work`.
    """
    granted = permissions_of(who)
    if Permission.TASK_READ in granted:
        return None
    require(Permission.TASK_WORK, who)
    return _visibility_of(who)


def _manages(who: Principal) -> bool:
    return Permission.TASK_MANAGE in permissions_of(who)


def _visibility_of(who: Principal) -> TaskVisibility:
    return TaskVisibility(who.user_id or "", who.groups)


def _denied(rule: str) -> PermissionDeniedError:
    return PermissionDeniedError(rule, permission=str(Permission.TASK_MANAGE))


def _seen(
    task_id: str,
    task: StoredTask | None,
    who: Principal,
    visibility: TaskVisibility | None,
    *,
    candidate_sees_claimed: bool = False,
) -> StoredTask:
    """`task` when `who` may see it; else NotFoundError, the same as for a missing task."""
    if task is None or not who.sees_tenant(task.tenant_id):
        raise NotFoundError(f"task {task_id} does not exist")
    # A candidate losing a claim race learns who won (409), not "no such task".
    seen = (
        visibility is None
        or visibility.allows(task)
        or (candidate_sees_claimed and task.open and visibility.is_candidate(task))
    )
    if not seen:
        raise NotFoundError(f"task {task_id} does not exist")
    return task


def _check_completer(who: Principal, task: StoredTask) -> None:
    """Only the assignee completes; before claim, a candidate does (claiming it on the way)."""
    if task.assignee is not None:
        if not who.is_user(task.assignee):
            raise _denied("task:complete requires being the assignee, or permission 'task:manage'")
    elif not _visibility_of(who).is_candidate(task):
        raise _denied(
            "task:complete requires being a candidate of the unclaimed task, "
            "or permission 'task:manage'"
        )


class TaskService:
    """Use cases of user tasks.

    Args:
        database: The application database.
        definitions: For the declared variable types checked at completion.
        workflows: The door to Temporal.
    """

    def __init__(
        self,
        *,
        database: Database,
        definitions: DefinitionService,
        workflows: WorkflowGateway,
        payload_limits: PayloadLimits | None = None,
        reconciler: ReconcilerService | None = None,
    ) -> None:
        self._db = database
        self._definitions = definitions
        self._workflows = workflows
        self._limits = payload_limits or PayloadLimits()
        self._reconciler = reconciler or ReconcilerService(database=database, workflows=workflows)

    async def get(self, task_id: str) -> StoredTask:
        """One task the acting principal may see.

        Raises:
            NotFoundError: no such task (or one of another tenant, or not the caller's).
            PermissionDeniedError: neither `task:read` nor `task:work`.
        """
        return await self._visible(task_id, current_principal())

    async def variables(self, task_id: str) -> TaskVariables:
        """The variables of a task's instance, for whoever may see the task (as Camunda does).

        A candidate or assignee of a task on an instance someone else started may not read
        that instance (`instance:read_own`), yet needs its data to work on the task: seeing
        the task is what grants this read. Sensitive variables are masked (`***`) exactly as
        in the variables API. Two queries (the task, the variables), whatever the caller.

        Raises:
            NotFoundError: no such task (or one of another tenant, or not the caller's).
            PermissionDeniedError: neither `task:read` nor `task:work`.
        """
        who = current_principal()
        visibility = _visibility(who)
        # One session for both reads: SQLite sessions take the write lock, never nest them.
        async with self._db.session() as session:
            task = _seen(task_id, await TaskRepository(session).get(task_id), who, visibility)
            current = await InstanceRepository(session).variables(task.process_instance_id)
        shown = await masked_variables(self._definitions, task.process_definition_id, current)
        return TaskVariables(task_id=task.id, instance_id=task.process_instance_id, variables=shown)

    async def _visible(
        self, task_id: str, who: Principal, *, candidate_sees_claimed: bool = False
    ) -> StoredTask:
        visibility = _visibility(who)
        async with self._db.session() as session:
            task = await TaskRepository(session).get(task_id)
        return _seen(task_id, task, who, visibility, candidate_sees_claimed=candidate_sees_claimed)

    async def list(
        self, filters: TaskFilters, *, page_size: int = 50, page_token: str | None = None
    ) -> TaskPage:
        """A page of tasks matching `filters` that the acting principal may see, oldest first.

        A non-admin sees their own tenant only; role `user` only their own and candidate
        tasks (the filter is part of the one query: no per-task checks).

        Raises:
            InvalidArgumentError: a bad page size, state or page token.
            PermissionDeniedError: neither `task:read` nor `task:work`, or another tenant asked
                for by a non-admin.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidArgumentError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        who = current_principal()
        visibility = _visibility(who)
        filters = replace(
            filters,
            tenant_id=who.tenant_filter(filters.tenant_id),
            visible_to=visibility if visibility is not None else filters.visible_to,
        )
        async with self._db.session() as session:
            try:
                items, token = await TaskRepository(session).list(
                    filters, page_size=page_size, page_token=page_token
                )
            except ValueError as exc:
                raise InvalidArgumentError(str(exc)) from exc
        return TaskPage(items, token)

    async def _open(
        self, task_id: str, action: str, who: Principal, *, candidate_sees_claimed: bool = False
    ) -> StoredTask:
        task = await self._visible(task_id, who, candidate_sees_claimed=candidate_sees_claimed)
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

    @audited("task.claim")
    async def claim(self, task_id: str, *, user_id: str | None) -> StoredTask:
        """Take an unassigned task (claiming one's own task again is a no-op).

        With authentication on, the claimer is the principal (`user_id` absent or their own)
        and must be a candidate of the task, or hold `task:manage`.

        Raises:
            NotFoundError / ConflictError: no such task; closed, delegated, or someone
                else's; or a lost race.
            PermissionDeniedError: `user_id` is not the principal; not a candidate.
        """
        who = require(Permission.TASK_WORK)
        user = _user(acting_user(user_id, action="claim", principal=who), "claim")
        task = await self._open(task_id, "claim", who, candidate_sees_claimed=True)
        if task.delegation == "pending":
            raise ConflictError(f"task {task_id} is delegated to {task.assignee}: resolve it first")
        if task.assignee is not None and task.assignee != user:
            raise ConflictError(f"task {task_id} is already claimed by {task.assignee}")
        if task.assignee == user and task.state == "claimed":
            return task
        if not who.is_system and not _manages(who) and not _visibility_of(who).is_candidate(task):
            raise _denied(
                "task:claim requires being a candidate of the task (user or group), "
                "or permission 'task:manage'"
            )
        return await self._change(task, assignee=user, state="claimed", claim_time=utcnow())

    @audited("task.unclaim")
    async def unclaim(self, task_id: str, *, user_id: str | None = None) -> StoredTask:
        """Give a task back to its candidates.

        With authentication on, only the assignee (or `task:manage`) may.

        Raises:
            NotFoundError / ConflictError: no such task; closed or delegated; a lost race.
            PermissionDeniedError: `user_id` is not the principal; not the assignee.
        """
        who = require(Permission.TASK_WORK)
        actor = acting_user(user_id, action="unclaim", principal=who)
        task = await self._open(task_id, "unclaim", who)
        if task.delegation == "pending":
            raise ConflictError(f"task {task_id} is delegated: resolve it first")
        if who.is_system:
            if actor is not None and task.assignee not in (None, actor):
                raise ConflictError(f"task {task_id} is claimed by {task.assignee}, not {actor}")
        elif not who.is_user(task.assignee) and not _manages(who):
            raise _denied("task:unclaim requires being the assignee, or permission 'task:manage'")
        return await self._change(task, assignee=None, state="created", claim_time=None)

    @audited("task.assign")
    async def assign(self, task_id: str, *, user_id: str | None) -> StoredTask:
        """Set the assignee, whoever had it (needs `task:manage`; `user_id` is the target).

        Raises:
            NotFoundError / ConflictError: no such task; closed; a lost race.
            PermissionDeniedError: no `task:manage`.
        """
        who = require(Permission.TASK_MANAGE)
        user = _user(user_id, "assign")
        task = await self._open(task_id, "assign", who)
        return await self._change(
            task, assignee=user, state="claimed", claim_time=utcnow(), delegation=None
        )

    @audited("task.delegate")
    async def delegate(self, task_id: str, *, user_id: str | None) -> StoredTask:
        """Hand the task to `user_id` for help; the current assignee stays its owner.

        With authentication on, only the assignee (or `task:manage`) may delegate.

        Raises:
            NotFoundError / ConflictError: no such task; closed, unassigned or already
                delegated; a lost race.
            PermissionDeniedError: not the assignee.
        """
        who = require(Permission.TASK_WORK)
        user = _user(user_id, "delegate")
        task = await self._open(task_id, "delegate", who)
        if task.delegation == "pending":
            raise ConflictError(f"task {task_id} is delegated already: resolve it first")
        if task.assignee is None:
            raise ConflictError(f"task {task_id} has no assignee: claim or assign it first")
        if not who.is_system and not who.is_user(task.assignee) and not _manages(who):
            raise _denied("task:delegate requires being the assignee, or permission 'task:manage'")
        return await self._change(
            task, owner=task.assignee, assignee=user, delegation="pending", state="delegated"
        )

    @audited("task.resolve")
    async def resolve(self, task_id: str, *, user_id: str | None = None) -> StoredTask:
        """The delegate is done: the task goes back to its owner.

        With authentication on, only the delegate (the assignee while delegated) may resolve.

        Raises:
            NotFoundError / ConflictError: no such task; not delegated; a lost race.
            PermissionDeniedError: `user_id` is not the principal; not the delegate.
        """
        who = require(Permission.TASK_WORK)
        acting_user(user_id, action="resolve", principal=who)
        task = await self._open(task_id, "resolve", who)
        if task.delegation != "pending":
            raise ConflictError(f"task {task_id} is not delegated: nothing to resolve")
        if not who.is_system and not who.is_user(task.assignee):
            raise PermissionDeniedError(
                "task:resolve requires being the delegate (the owner completes after resolve)",
                permission=str(Permission.TASK_WORK),
            )
        return await self._change(task, assignee=task.owner, delegation="resolved", state="claimed")

    async def _settled_completion(
        self, task: StoredTask, user_id: str | None
    ) -> CompleteTaskResult:
        """The answer to a completion whose outcome Temporal did not report.

        That happens when the instance's run closed while the update waited. A closed run
        has written its end, tasks included: the task's final state there is the truth.

        Raises:
            ConflictError: the run closed without taking the completion.
            UnavailableError: the run is still open (Temporal did not answer in time).
        """
        state = await self._reconciler.repair(task.process_instance_id)
        if not state.closed:
            raise UnavailableError(
                f"Temporal did not say whether task {task.id} was completed: try again"
            )
        async with self._db.session() as session:
            final = await ended_task_state(session, task.id)
        if final == "completed":
            return CompleteTaskResult(
                task_id=task.id,
                node_id=task.task_definition_key,
                instance_status=state.status or "",
            )
        raise ConflictError(
            f"task {task.id} cannot be completed: its instance ended ({state.status}) first"
        )

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
            PermissionDeniedError: `user_id` is not the principal; not the assignee (or,
                before claim, not a candidate) and no `task:manage`.
        """
        who = require(Permission.TASK_WORK)
        user_id = acting_user(user_id, action="complete", principal=who)
        given = require_variable_map(variables)
        self._limits.check(given)
        task = await self._open(task_id, "complete", who)
        if task.delegation == "pending":
            raise ConflictError(
                f"task {task_id} is delegated to {task.assignee}: resolve it before completing"
            )
        if not who.is_system and not _manages(who):
            _check_completer(who, task)
        if task.process_definition_id is not None:
            model = await self._definitions.cached_model(task.process_definition_id)
            issues = check_variables(model.process.variables, given, require=False)
            node = model.nodes.get(task.task_definition_key)
            if node is not None:
                # The API checks the task's form as the portal does: no client is trusted.
                issues += check_form_values(form_fields(node.config), given)
            raise_if_invalid(issues)
        try:
            result = await self._workflows.update(
                task.process_instance_id,
                UPDATE_COMPLETE_TASK,
                CompleteTaskRequest(task_id=task_id, variables=given, user_id=user_id),
                result_type=CompleteTaskResult,
            )
        except WorkflowGoneError:
            # The instance ended (maybe outside the engine): the completion did not happen.
            state = await self._reconciler.repair(task.process_instance_id)
            raise ConflictError(
                f"task {task_id} cannot be completed: its instance has ended "
                f"({state.status or 'in Temporal'})"
            ) from None
        except UpdateOutcomeUnknownError:
            return await self._settled_completion(task, user_id)
        except ConflictError as exc:
            # The workflow refused it (the task closed, or the instance is ending first).
            raise ConflictError(f"task {task_id} cannot be completed: {exc.message}") from exc
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
