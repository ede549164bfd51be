"""`workflow_engine.v1.TaskService` over a real server, real services and the real interpreter
on the Temporal dev server (both databases)."""

from __future__ import annotations

import grpc

from tests.api.grpc.support import refused
from tests.api.grpc.test_execution import as_dict, deploy, open_task, start_seed, struct, until
from tests.api.live_engine import CALLS
from tests.services.support import SEED_VARIABLES
from workflow_engine.api.grpc.generated import execution_pb2 as epb
from workflow_engine.api.grpc.generated import tasks_pb2 as pb
from workflow_engine.api.grpc.generated.execution_pb2_grpc import ExecutionServiceStub
from workflow_engine.api.grpc.generated.tasks_pb2_grpc import TaskServiceStub

GHOST = "00000000-0000-0000-0000-000000000000"


async def test_inbox_claim_assign_delegate_resolve_complete(
    live_channel: grpc.aio.Channel,
) -> None:
    await deploy(live_channel)
    executions = ExecutionServiceStub(live_channel)
    tasks = TaskServiceStub(live_channel)
    started = await start_seed(executions)
    task = await open_task(tasks, started.id)
    assert (task.instance_id, task.element_id, task.state) == (
        started.id,
        "validate_user_task",
        "created",
    )
    assert task.assignee == "u1"  # ${initiator}
    assert task.form_key == "validate-user-form"
    assert task.HasField("created_at") and not task.HasField("ended_at")

    inbox = await tasks.ListTasks(pb.ListTasksRequest(assignee="u1"))
    assert [t.id for t in inbox.items] == [task.id]
    assert list((await tasks.ListTasks(pb.ListTasksRequest(assignee="u2"))).items) == []
    got = await tasks.GetTask(pb.GetTaskRequest(task_id=task.id))
    assert got == task

    unclaimed = await tasks.UnclaimTask(pb.UnclaimTaskRequest(task_id=task.id))
    assert (unclaimed.state, unclaimed.HasField("assignee")) == ("created", False)
    assert unclaimed.version > task.version
    claimed = await tasks.ClaimTask(pb.ClaimTaskRequest(task_id=task.id, user_id="u2"))
    assert (claimed.state, claimed.assignee) == ("claimed", "u2")
    assert claimed.HasField("claimed_at")
    taken = await refused(tasks.ClaimTask(pb.ClaimTaskRequest(task_id=task.id, user_id="u3")))
    assert (taken.code, taken.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONFLICT")
    assert "already claimed by u2" in taken.message

    assigned = await tasks.AssignTask(pb.AssignTaskRequest(task_id=task.id, user_id="u1"))
    assert assigned.assignee == "u1"
    delegated = await tasks.DelegateTask(pb.DelegateTaskRequest(task_id=task.id, user_id="u4"))
    assert (delegated.state, delegated.assignee, delegated.owner, delegated.delegation) == (
        "delegated",
        "u4",
        "u1",
        "pending",
    )
    blocked = await refused(
        tasks.CompleteTask(
            pb.CompleteTaskRequest(task_id=task.id, variables=struct({"userValid": True}))
        )
    )
    assert blocked.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "resolve it" in blocked.message
    resolved = await tasks.ResolveTask(pb.ResolveTaskRequest(task_id=task.id))
    assert (resolved.state, resolved.assignee, resolved.delegation) == (
        "claimed",
        "u1",
        "resolved",
    )

    done = await tasks.CompleteTask(
        pb.CompleteTaskRequest(
            task_id=task.id, variables=struct({"userValid": False}), user_id="u1"
        )
    )
    assert (done.task_id, done.node_id) == (task.id, "validate_user_task")
    closed = await tasks.GetTask(pb.GetTaskRequest(task_id=task.id))
    assert closed.state == "completed"
    assert closed.HasField("ended_at")
    again = await refused(tasks.CompleteTask(pb.CompleteTaskRequest(task_id=task.id)))
    assert (again.code, again.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONFLICT")
    assert "completed" in again.message
    await until(executions, started.id)(lambda e: e.status == "completed")
    assert [name for name, _ in CALLS] == ["RejectRegistrationActivity"]
    by_state = await tasks.ListTasks(pb.ListTasksRequest(state="completed"))
    assert [t.id for t in by_state.items] == [task.id]


async def test_task_variables_are_the_instances(live_channel: grpc.aio.Channel) -> None:
    await deploy(live_channel)
    executions = ExecutionServiceStub(live_channel)
    tasks = TaskServiceStub(live_channel)
    started = await start_seed(executions)
    task = await open_task(tasks, started.id)
    got = await tasks.GetTaskVariables(pb.GetTaskVariablesRequest(task_id=task.id))
    assert (got.task_id, got.instance_id) == (task.id, started.id)
    instance = await executions.GetVariables(epb.GetVariablesRequest(instance_id=started.id))
    assert as_dict(got.variables) == as_dict(instance.variables)
    assert as_dict(got.variables).items() >= SEED_VARIABLES.items()
    await executions.TerminateExecution(epb.TerminateExecutionRequest(instance_id=started.id))


async def test_complete_checks_declared_types(live_channel: grpc.aio.Channel) -> None:
    await deploy(live_channel)
    executions = ExecutionServiceStub(live_channel)
    tasks = TaskServiceStub(live_channel)
    started = await start_seed(executions)
    task = await open_task(tasks, started.id)
    wrong = await refused(
        tasks.CompleteTask(
            pb.CompleteTaskRequest(task_id=task.id, variables=struct({"email": ["x"]}))
        )
    )
    assert (wrong.code, wrong.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_FAILED")
    assert [v[0] for v in wrong.violations] == ["variables.email"]
    still = await tasks.GetTask(pb.GetTaskRequest(task_id=task.id))
    assert still.state == "created"
    await executions.TerminateExecution(epb.TerminateExecutionRequest(instance_id=started.id))


async def test_task_errors(live_channel: grpc.aio.Channel) -> None:
    tasks = TaskServiceStub(live_channel)
    for call in (
        tasks.GetTask(pb.GetTaskRequest(task_id=GHOST)),
        tasks.ClaimTask(pb.ClaimTaskRequest(task_id=GHOST, user_id="u1")),
        tasks.UnclaimTask(pb.UnclaimTaskRequest(task_id=GHOST)),
        tasks.AssignTask(pb.AssignTaskRequest(task_id=GHOST, user_id="u1")),
        tasks.DelegateTask(pb.DelegateTaskRequest(task_id=GHOST, user_id="u1")),
        tasks.ResolveTask(pb.ResolveTaskRequest(task_id=GHOST)),
        tasks.CompleteTask(pb.CompleteTaskRequest(task_id=GHOST)),
        tasks.GetTaskVariables(pb.GetTaskVariablesRequest(task_id=GHOST)),
    ):
        refusal = await refused(call)
        assert (refusal.code, refusal.reason) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
        assert GHOST in refusal.message
    for blank_call in (
        tasks.GetTask(pb.GetTaskRequest()),
        tasks.GetTaskVariables(pb.GetTaskVariablesRequest()),
    ):
        blank = await refused(blank_call)
        assert blank.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [v[0] for v in blank.violations] == ["task_id"]
    no_user = await refused(tasks.ClaimTask(pb.ClaimTaskRequest(task_id=GHOST)))
    assert no_user.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "user_id is required" in no_user.message
    for request in (
        pb.ListTasksRequest(page_size=501),
        pb.ListTasksRequest(state="sleeping"),
        pb.ListTasksRequest(page_token="garbage"),
    ):
        bad = await refused(tasks.ListTasks(request))
        assert bad.code == grpc.StatusCode.INVALID_ARGUMENT, request
