"""`workflow_engine.v1.TaskService`: thin gRPC over `TaskService` (DESIGN §5).

Same operations and rules as REST `/api/v1/tasks`; this module only translates messages and
checks that a task id is given. Errors leave through `api.grpc.errors.rpc`.
"""

from __future__ import annotations

import grpc

from workflow_engine.api.grpc.errors import rpc
from workflow_engine.api.grpc.generated import tasks_pb2 as pb
from workflow_engine.api.grpc.generated.tasks_pb2_grpc import TaskServiceServicer
from workflow_engine.api.grpc.runtime_messages import (
    complete_task_message,
    optional,
    required,
    struct_of,
    task_message,
    variables_of,
)
from workflow_engine.services.tasks import TaskService
from workflow_engine.store.tasks import TaskFilters


def _task_id(request: object) -> str:
    value: str = getattr(request, "task_id")  # noqa: B009 - protobuf messages are untyped here
    return required(value, "task_id", "the task")


class TaskServicer(TaskServiceServicer):
    """Implements `workflow_engine.v1.TaskService`.

    Args:
        tasks: The shared task service (`Services.tasks`).

    """

    def __init__(self, tasks: TaskService) -> None:
        self._tasks = tasks

    @rpc
    async def ListTasks(  # noqa: N802 - gRPC method names are CamelCase
        self, request: pb.ListTasksRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTasksResponse:
        """The inbox: a page of tasks matching the filters (empty filters are not applied)."""
        filters = TaskFilters(
            assignee=request.assignee or None,
            candidate_user=request.candidate_user or None,
            candidate_group=request.candidate_group or None,
            instance_id=request.instance_id or None,
            state=request.state or None,
            tenant_id=request.tenant_id or None,
        )
        token = request.page_token or None
        # page_size 0 is proto3's "not set": the service's default applies.
        if request.page_size == 0:
            page = await self._tasks.list(filters, page_token=token)
        else:
            page = await self._tasks.list(filters, page_size=request.page_size, page_token=token)
        return pb.ListTasksResponse(
            items=[task_message(t) for t in page.items],
            next_page_token=page.next_page_token or "",
        )

    @rpc
    async def GetTask(  # noqa: N802
        self, request: pb.GetTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.Task:
        """One task."""
        return task_message(await self._tasks.get(_task_id(request)))

    @rpc
    async def ClaimTask(  # noqa: N802
        self, request: pb.ClaimTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.Task:
        """Claim; FAILED_PRECONDITION when someone else has it."""
        task_id = _task_id(request)
        return task_message(await self._tasks.claim(task_id, user_id=request.user_id or None))

    @rpc
    async def UnclaimTask(  # noqa: N802
        self, request: pb.UnclaimTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.Task:
        """Give the task back to its candidates."""
        task_id = _task_id(request)
        return task_message(
            await self._tasks.unclaim(task_id, user_id=optional(request, "user_id"))
        )

    @rpc
    async def AssignTask(  # noqa: N802
        self, request: pb.AssignTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.Task:
        """Set the assignee."""
        task_id = _task_id(request)
        return task_message(await self._tasks.assign(task_id, user_id=request.user_id or None))

    @rpc
    async def DelegateTask(  # noqa: N802
        self, request: pb.DelegateTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.Task:
        """Delegate; the assignee stays owner until resolved."""
        task_id = _task_id(request)
        return task_message(await self._tasks.delegate(task_id, user_id=request.user_id or None))

    @rpc
    async def ResolveTask(  # noqa: N802
        self, request: pb.ResolveTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.Task:
        """The delegate hands the task back to its owner."""
        task_id = _task_id(request)
        return task_message(
            await self._tasks.resolve(task_id, user_id=optional(request, "user_id"))
        )

    @rpc
    async def CompleteTask(  # noqa: N802
        self, request: pb.CompleteTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.CompleteTaskResponse:
        """Complete with output variables; the instance moves on."""
        result = await self._tasks.complete(
            _task_id(request),
            variables=variables_of(request),
            user_id=optional(request, "user_id"),
        )
        return complete_task_message(result)

    @rpc
    async def GetTaskVariables(  # noqa: N802
        self, request: pb.GetTaskVariablesRequest, context: grpc.aio.ServicerContext
    ) -> pb.TaskVariables:
        """The variables of the task's instance, for whoever may see the task (masked)."""
        found = await self._tasks.variables(_task_id(request))
        return pb.TaskVariables(
            task_id=found.task_id,
            instance_id=found.instance_id,
            variables=struct_of(found.variables),
        )
