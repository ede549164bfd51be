"""`/api/v1/tasks`: thin HTTP over `TaskService` (DESIGN §5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from workflow_engine.api.rest.deps import ServicesDep
from workflow_engine.api.rest.runtime_schemas import (
    CompleteTaskIn,
    CompleteTaskOut,
    OptionalUserIn,
    TaskListOut,
    TaskOut,
    TaskVariablesOut,
    UserIn,
)
from workflow_engine.services.tasks import MAX_PAGE_SIZE
from workflow_engine.store.tasks import TaskFilters

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

OptionalUser = Annotated[OptionalUserIn | None, Body()]


@router.get("", response_model=TaskListOut)
async def list_tasks(
    services: ServicesDep,
    assignee: str | None = None,
    candidate_user: str | None = None,
    candidate_group: str | None = None,
    instance_id: str | None = None,
    state: str | None = None,
    tenant_id: str | None = None,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    page_token: str | None = None,
) -> TaskListOut:
    """The inbox: tasks by assignee, candidate, instance or state, oldest first."""
    filters = TaskFilters(
        assignee=assignee,
        candidate_user=candidate_user,
        candidate_group=candidate_group,
        instance_id=instance_id,
        state=state,
        tenant_id=tenant_id,
    )
    page = await services.tasks.list(filters, page_size=page_size, page_token=page_token)
    return TaskListOut(
        items=[TaskOut.of(t) for t in page.items], next_page_token=page.next_page_token
    )


@router.get("/{task_id}", response_model=TaskOut)
async def get_task(task_id: str, services: ServicesDep) -> TaskOut:
    """One task."""
    return TaskOut.of(await services.tasks.get(task_id))


@router.get("/{task_id}/variables", response_model=TaskVariablesOut)
async def get_task_variables(task_id: str, services: ServicesDep) -> TaskVariablesOut:
    """The variables of the task's instance, for whoever may see the task (sensitive masked).

    A candidate or assignee reads them even on an instance someone else started (which
    `GET /instances/{id}/variables` would answer with 404 for them).
    """
    found = await services.tasks.variables(task_id)
    return TaskVariablesOut(
        task_id=found.task_id, instance_id=found.instance_id, variables=found.variables
    )


@router.post("/{task_id}/claim", response_model=TaskOut)
async def claim(task_id: str, services: ServicesDep, body: OptionalUser = None) -> TaskOut:
    """Claim an unassigned task (409 when someone else has it).

    With authentication on the claimer is the caller, so the body may be left out; with it
    off the body names who claims.
    """
    user = body.user_id if body is not None else None
    return TaskOut.of(await services.tasks.claim(task_id, user_id=user))


@router.post("/{task_id}/unclaim", response_model=TaskOut)
async def unclaim(task_id: str, services: ServicesDep, body: OptionalUser = None) -> TaskOut:
    """Give the task back to its candidates."""
    user = body.user_id if body is not None else None
    return TaskOut.of(await services.tasks.unclaim(task_id, user_id=user))


@router.post("/{task_id}/assign", response_model=TaskOut)
async def assign(task_id: str, body: UserIn, services: ServicesDep) -> TaskOut:
    """Set the assignee."""
    return TaskOut.of(await services.tasks.assign(task_id, user_id=body.user_id))


@router.post("/{task_id}/delegate", response_model=TaskOut)
async def delegate(task_id: str, body: UserIn, services: ServicesDep) -> TaskOut:
    """Delegate to another user; the assignee stays owner until resolve."""
    return TaskOut.of(await services.tasks.delegate(task_id, user_id=body.user_id))


@router.post("/{task_id}/resolve", response_model=TaskOut)
async def resolve(task_id: str, services: ServicesDep, body: OptionalUser = None) -> TaskOut:
    """The delegate hands the task back to its owner."""
    user = body.user_id if body is not None else None
    return TaskOut.of(await services.tasks.resolve(task_id, user_id=user))


@router.post("/{task_id}/complete", response_model=CompleteTaskOut)
async def complete(
    task_id: str, services: ServicesDep, body: Annotated[CompleteTaskIn | None, Body()] = None
) -> CompleteTaskOut:
    """Complete with output variables; the instance moves on."""
    req = body or CompleteTaskIn()
    result = await services.tasks.complete(task_id, variables=req.variables, user_id=req.user_id)
    return CompleteTaskOut(
        task_id=result.task_id, node_id=result.node_id, instance_status=result.instance_status
    )
