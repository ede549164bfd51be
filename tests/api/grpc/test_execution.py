"""`workflow_engine.v1.ExecutionService` over a real server, real services and the real
interpreter on the Temporal dev server (both databases)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.client import Client

from tests.api.grpc.support import Refusal, refused
from tests.api.live_engine import CALLS
from tests.services.support import SEED, SEED_VARIABLES, eventually, message_start_definition
from tests.services.test_signal_starts import started_by_signal
from workflow_engine.api.grpc.generated import definitions_pb2 as dpb
from workflow_engine.api.grpc.generated import execution_pb2 as pb
from workflow_engine.api.grpc.generated import tasks_pb2 as tpb
from workflow_engine.api.grpc.generated.definitions_pb2_grpc import DefinitionServiceStub
from workflow_engine.api.grpc.generated.execution_pb2_grpc import ExecutionServiceStub
from workflow_engine.api.grpc.generated.tasks_pb2_grpc import TaskServiceStub
from workflow_engine.services.container import Services

KEY = "userRegistration"


def struct(values: dict[str, Any]) -> Struct:
    message = Struct()
    message.update(values)
    return message


def as_dict(message: Struct) -> dict[str, Any]:
    converted: dict[str, Any] = json_format.MessageToDict(message)
    return converted


async def deploy(channel: grpc.aio.Channel, document: bytes | None = None) -> dpb.Definition:
    stub = DefinitionServiceStub(channel)
    content = SEED.read_bytes() if document is None else document
    response = await stub.DeployDefinition(
        dpb.DeployDefinitionRequest(content=content, format=dpb.FORMAT_JSON)
    )
    definition: dpb.Definition = response.definition
    return definition


def start_request(*, variables: dict[str, Any] | None = None, **fields: Any) -> Any:
    """A StartExecution request of the seed example by u1."""
    return pb.StartExecutionRequest(
        definition_key=KEY,
        variables=struct(SEED_VARIABLES if variables is None else variables),
        user_id="u1",
        **fields,
    )


async def start_seed(
    stub: ExecutionServiceStub, *, variables: dict[str, Any] | None = None, **fields: Any
) -> pb.Execution:
    execution: pb.Execution = await stub.StartExecution(
        start_request(variables=variables, **fields)
    )
    return execution


def until(
    stub: ExecutionServiceStub, instance_id: str
) -> Callable[[Callable[[pb.Execution], bool]], Awaitable[pb.Execution]]:
    """Wait until the instance (read through GetExecution) satisfies a condition."""

    async def probe() -> pb.Execution:
        found: pb.Execution = await stub.GetExecution(
            pb.GetExecutionRequest(instance_id=instance_id)
        )
        return found

    async def wait(accept: Callable[[pb.Execution], bool]) -> pb.Execution:
        return await eventually(probe, accept, within=30)

    return wait


async def open_task(tasks: TaskServiceStub, instance_id: str) -> tpb.Task:
    async def probe() -> list[tpb.Task]:
        page = await tasks.ListTasks(tpb.ListTasksRequest(instance_id=instance_id))
        return [t for t in page.items if t.state in ("created", "claimed", "delegated")]

    found = await eventually(probe, bool, within=30)
    return found[0]


async def test_seed_start_list_complete_signal_completed(
    live_channel: grpc.aio.Channel, live_services: Services
) -> None:
    await deploy(live_channel)
    stub = ExecutionServiceStub(live_channel)
    tasks = TaskServiceStub(live_channel)
    started = await start_seed(stub, business_key="reg-1", variables={**SEED_VARIABLES, "n": 3})
    assert started.definition_key == KEY
    assert started.definition_version == 1
    assert started.status == "running"
    assert started.business_key == "reg-1"
    assert started.start_user_id == "u1"
    assert started.workflow_id == f"pi-{started.id}"
    assert started.HasField("start_time") and not started.HasField("end_time")
    assert as_dict(started.variables)["email"] == "u1@example.com"
    # A whole number sent through Struct (a double) reaches the process as an integer.
    stored = await live_services.instances.variables(started.id)
    assert stored["n"] == 3 and isinstance(stored["n"], int)

    listed = await stub.ListExecutions(pb.ListExecutionsRequest(definition_key=KEY))
    assert [e.id for e in listed.items] == [started.id]
    assert not listed.items[0].HasField("variables")  # lists leave variables out
    assert listed.next_page_token == ""
    none = await stub.ListExecutions(pb.ListExecutionsRequest(business_key="other"))
    assert list(none.items) == []
    later = Timestamp()
    later.FromJsonString("2999-01-01T00:00:00Z")
    assert (
        list((await stub.ListExecutions(pb.ListExecutionsRequest(started_after=later))).items) == []
    )
    before = await stub.ListExecutions(pb.ListExecutionsRequest(started_before=later))
    assert [e.id for e in before.items] == [started.id]

    task = await open_task(tasks, started.id)
    assert task.element_id == "validate_user_task"
    assert task.assignee == "u1"
    done = await tasks.CompleteTask(
        tpb.CompleteTaskRequest(
            task_id=task.id, variables=struct({"userValid": True}), user_id="u1"
        )
    )
    assert (done.task_id, done.node_id) == (task.id, "validate_user_task")

    wait = until(stub, started.id)
    waiting = await wait(lambda e: list(e.active_element_ids) == ["wait_verification_event"])
    assert as_dict(waiting.variables)["verification_code"] == "C-42"
    signal = await stub.SendSignal(pb.SendSignalRequest(name="email_verified"))
    assert signal.delivered == 1
    final = await wait(lambda e: e.status == "completed")
    assert as_dict(final.variables)["registration_id"] == "reg-u1"
    assert final.HasField("end_time")
    assert list(final.active_element_ids) == []
    assert [name for name, _ in CALLS] == ["SendEmailActivity", "CompleteRegistrationActivity"]

    completed = await stub.ListExecutions(pb.ListExecutionsRequest(status="completed"))
    assert [e.id for e in completed.items] == [started.id]
    again = await stub.SendSignal(pb.SendSignalRequest(name="email_verified"))
    assert again.delivered == 0


async def test_list_pages_with_tokens(live_channel: grpc.aio.Channel) -> None:
    await deploy(live_channel)
    stub = ExecutionServiceStub(live_channel)
    ids = [(await start_seed(stub)).id for _ in range(3)]
    first = await stub.ListExecutions(pb.ListExecutionsRequest(page_size=2))
    assert len(first.items) == 2 and first.next_page_token
    second = await stub.ListExecutions(
        pb.ListExecutionsRequest(page_size=2, page_token=first.next_page_token)
    )
    assert second.next_page_token == ""
    assert sorted(e.id for e in [*first.items, *second.items]) == sorted(ids)
    for instance_id in ids:
        await stub.TerminateExecution(pb.TerminateExecutionRequest(instance_id=instance_id))


async def test_pause_resume_terminate_cancel_and_their_preconditions(
    live_channel: grpc.aio.Channel,
) -> None:
    await deploy(live_channel)
    stub = ExecutionServiceStub(live_channel)
    started = await start_seed(stub)
    wait = until(stub, started.id)
    await wait(lambda e: list(e.active_element_ids) == ["validate_user_task"])

    paused = await stub.PauseExecution(pb.PauseExecutionRequest(instance_id=started.id, reason="x"))
    assert (paused.instance_id, paused.action, paused.accepted) == (started.id, "pause", True)
    assert paused.status == "paused"
    await wait(lambda e: e.status == "paused")
    twice = await refused(stub.PauseExecution(pb.PauseExecutionRequest(instance_id=started.id)))
    assert (twice.code, twice.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONFLICT")
    assert "paused already" in twice.message

    resumed = await stub.ResumeExecution(pb.ResumeExecutionRequest(instance_id=started.id))
    assert resumed.action == "resume"
    await wait(lambda e: e.status == "running")
    not_paused = await refused(
        stub.ResumeExecution(pb.ResumeExecutionRequest(instance_id=started.id))
    )
    assert not_paused.code == grpc.StatusCode.FAILED_PRECONDITION
    no_incident = await refused(
        stub.RetryExecution(pb.RetryExecutionRequest(instance_id=started.id))
    )
    assert no_incident.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "no incident" in no_incident.message

    terminated = await stub.TerminateExecution(
        pb.TerminateExecutionRequest(instance_id=started.id, reason="test over")
    )
    assert terminated.status == "terminated"  # answered once it has ended
    ended = await wait(lambda e: e.status == "terminated")
    assert ended.end_reason == "test over"
    for call in (
        stub.PauseExecution(pb.PauseExecutionRequest(instance_id=started.id)),
        stub.CancelExecution(pb.CancelExecutionRequest(instance_id=started.id)),
        stub.SetVariables(
            pb.SetVariablesRequest(instance_id=started.id, variables=struct({"a": 1}))
        ),
    ):
        refusal = await refused(call)
        assert (refusal.code, refusal.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONFLICT")
        assert "has ended (terminated)" in refusal.message

    other = await start_seed(stub)
    cancelled = await stub.CancelExecution(pb.CancelExecutionRequest(instance_id=other.id))
    assert cancelled.action == "cancel"
    await until(stub, other.id)(lambda e: e.status == "cancelled")


async def test_variables_get_set_and_type_check(live_channel: grpc.aio.Channel) -> None:
    await deploy(live_channel)
    stub = ExecutionServiceStub(live_channel)
    started = await start_seed(stub)
    got = await stub.GetVariables(pb.GetVariablesRequest(instance_id=started.id))
    # The workflow adds its own (initiator, ...) once its first batch is written.
    assert as_dict(got.variables).items() >= SEED_VARIABLES.items()
    changed = await stub.SetVariables(
        pb.SetVariablesRequest(
            instance_id=started.id, variables=struct({"note": "hi", "tags": ["a", "b"]})
        )
    )
    expected = {**SEED_VARIABLES, "note": "hi", "tags": ["a", "b"]}
    assert as_dict(changed.variables).items() >= expected.items()
    wrong = await refused(
        stub.SetVariables(
            pb.SetVariablesRequest(instance_id=started.id, variables=struct({"email": 5}))
        )
    )
    assert (wrong.code, wrong.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_FAILED")
    assert [v[0] for v in wrong.violations] == ["variables.email"]
    empty = await refused(stub.SetVariables(pb.SetVariablesRequest(instance_id=started.id)))
    assert empty.code == grpc.StatusCode.INVALID_ARGUMENT
    await stub.TerminateExecution(pb.TerminateExecutionRequest(instance_id=started.id))


async def test_start_errors_name_the_problem(live_channel: grpc.aio.Channel) -> None:
    definition = await deploy(live_channel)
    stub = ExecutionServiceStub(live_channel)

    without_email = {k: v for k, v in SEED_VARIABLES.items() if k != "email"}
    missing = await refused(stub.StartExecution(start_request(variables=without_email)))
    assert (missing.code, missing.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_FAILED")
    assert "email" in missing.message
    assert missing.violations == [
        ("variables.email", "required variable 'email' is missing", "MISSING_VARIABLE")
    ]

    unknown = await refused(stub.StartExecution(pb.StartExecutionRequest(definition_key="nope")))
    assert (unknown.code, unknown.reason) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
    assert "nope" in unknown.message
    unknown_id = await refused(stub.StartExecution(pb.StartExecutionRequest(definition_id=999_999)))
    assert unknown_id.code == grpc.StatusCode.NOT_FOUND
    no_version = await refused(
        stub.StartExecution(pb.StartExecutionRequest(definition_key=KEY, version=7))
    )
    assert no_version.code == grpc.StatusCode.NOT_FOUND
    no_selector = await refused(stub.StartExecution(pb.StartExecutionRequest()))
    assert no_selector.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v[0] for v in no_selector.violations] == ["definition"]
    version_with_id = await refused(
        stub.StartExecution(pb.StartExecutionRequest(definition_id=definition.id, version=1))
    )
    assert [v[0] for v in version_with_id.violations] == ["version"]

    definitions = DefinitionServiceStub(live_channel)
    await definitions.SuspendDefinition(dpb.SuspendDefinitionRequest(id=definition.id))
    suspended = await refused(stub.StartExecution(start_request()))
    assert (suspended.code, suspended.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONFLICT")
    assert "suspended" in suspended.message
    listed = await stub.ListExecutions(pb.ListExecutionsRequest())
    assert list(listed.items) == []  # nothing was left behind by the refused starts


async def test_addressing_errors(live_channel: grpc.aio.Channel) -> None:
    stub = ExecutionServiceStub(live_channel)
    ghost = "00000000-0000-0000-0000-000000000000"
    for call in (
        stub.GetExecution(pb.GetExecutionRequest(instance_id=ghost)),
        stub.PauseExecution(pb.PauseExecutionRequest(instance_id=ghost)),
        stub.ResumeExecution(pb.ResumeExecutionRequest(instance_id=ghost)),
        stub.TerminateExecution(pb.TerminateExecutionRequest(instance_id=ghost)),
        stub.CancelExecution(pb.CancelExecutionRequest(instance_id=ghost)),
        stub.RetryExecution(pb.RetryExecutionRequest(instance_id=ghost)),
        stub.GetVariables(pb.GetVariablesRequest(instance_id=ghost)),
        stub.SetVariables(pb.SetVariablesRequest(instance_id=ghost, variables=struct({"a": 1}))),
    ):
        refusal: Refusal = await refused(call)
        assert (refusal.code, refusal.reason) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
        assert ghost in refusal.message

    blank = await refused(stub.GetExecution(pb.GetExecutionRequest()))
    assert blank.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [(v[0], v[2]) for v in blank.violations] == [("instance_id", "REQUIRED")]
    for request in (
        pb.ListExecutionsRequest(page_size=501),
        pb.ListExecutionsRequest(status="sleeping"),
        pb.ListExecutionsRequest(page_token="not-a-token"),
    ):
        bad = await refused(stub.ListExecutions(request))
        assert bad.code == grpc.StatusCode.INVALID_ARGUMENT, request
    no_name = await refused(stub.SendSignal(pb.SendSignalRequest()))
    assert [v[0] for v in no_name.violations] == ["name"]
    nobody = await refused(stub.CorrelateMessage(pb.CorrelateMessageRequest(name="unheard")))
    assert nobody.code == grpc.StatusCode.NOT_FOUND
    assert "unheard" in nobody.message


async def test_message_starts_an_instance(live_channel: grpc.aio.Channel) -> None:
    document = json.dumps(message_start_definition("payments", "paid")).encode()
    await deploy(live_channel, document)
    stub = ExecutionServiceStub(live_channel)
    result = await stub.CorrelateMessage(
        pb.CorrelateMessageRequest(
            name="paid", business_key="order-7", variables=struct({"amount": 12.5})
        )
    )
    assert result.started is True
    final = await until(stub, result.instance_id)(lambda e: e.status == "completed")
    assert final.definition_key == "payments"
    assert final.business_key == "order-7"
    assert as_dict(final.variables)["amount"] == 12.5


async def test_without_temporal_steering_is_unavailable(channel: grpc.aio.Channel) -> None:
    await deploy(channel)
    stub = ExecutionServiceStub(channel)
    refusal = await refused(stub.StartExecution(start_request()))
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE")
    assert list((await stub.ListExecutions(pb.ListExecutionsRequest())).items) == []


async def test_send_signal_reports_started_instances_and_request_ids_repeat(
    live_channel: grpc.aio.Channel,
) -> None:
    await deploy(live_channel, json.dumps(started_by_signal("listener")).encode())
    await deploy(live_channel, json.dumps(message_start_definition("payments", "paid")).encode())
    stub = ExecutionServiceStub(live_channel)
    request_id = f"grpc-{uuid.uuid4()}"
    signal = pb.SendSignalRequest(
        name="Order placed", variables=struct({"n": 1}), request_id=request_id
    )

    first = await stub.SendSignal(signal)
    again = await stub.SendSignal(signal)

    assert (first.delivered, first.started) == (0, 1)
    assert len(first.started_instance_ids) == 1
    assert again == first
    listener = first.started_instance_ids[0]
    assert (await stub.GetExecution(pb.GetExecutionRequest(instance_id=listener))).id == listener
    plain = await stub.SendSignal(pb.SendSignalRequest(name="Order placed"))
    assert plain.started == 1 and plain.started_instance_ids[0] != listener

    message = pb.CorrelateMessageRequest(name="paid", business_key="b-1", request_id=request_id)
    got = await stub.CorrelateMessage(message)
    repeat = await stub.CorrelateMessage(message)
    assert got.started is True
    assert repeat == got
    listed = await stub.ListExecutions(pb.ListExecutionsRequest(definition_key="payments"))
    assert [e.id for e in listed.items] == [got.instance_id]
    reused = await refused(
        stub.CorrelateMessage(
            pb.CorrelateMessageRequest(name="paid", business_key="b-2", request_id=request_id)
        )
    )
    assert (reused.code, reused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONFLICT")
    too_long = await refused(stub.SendSignal(pb.SendSignalRequest(name="x", request_id="y" * 256)))
    assert too_long.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "request_id" in too_long.message


async def test_reconcile_repairs_a_workflow_terminated_behind_the_engine(
    live_channel: grpc.aio.Channel, temporal_client: Client
) -> None:
    await deploy(live_channel)
    stub = ExecutionServiceStub(live_channel)
    started = await start_seed(stub)
    await until(stub, started.id)(lambda e: list(e.active_element_ids) == ["validate_user_task"])
    await temporal_client.get_workflow_handle(f"pi-{started.id}").terminate(reason="by hand")
    dry = await stub.ReconcileExecutions(pb.ReconcileExecutionsRequest(dry_run=True))
    assert [(r.instance_id, r.temporal_status, r.repaired) for r in dry.repairs] == [
        (started.id, "TERMINATED", False)
    ]
    done = await stub.ReconcileExecutions(pb.ReconcileExecutionsRequest())
    assert (done.checked, done.repaired, done.repairs[0].status) == (1, 1, "terminated")
    await until(stub, started.id)(lambda e: e.status == "terminated")


async def test_unstorable_variables_are_invalid_argument_naming_the_path(
    live_channel: grpc.aio.Channel,
) -> None:
    # Issue 15, finding 7: a Struct carrying NaN / infinity failed in MessageToDict (a 500).
    await deploy(live_channel)
    stub = ExecutionServiceStub(live_channel)
    for bad in (float("nan"), float("inf"), "a\x00b"):
        variables = {**SEED_VARIABLES, "extra": {"list": [1, bad]}}
        refusal = await refused(stub.StartExecution(start_request(variables=variables)))
        assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT, refusal
        assert refusal.violations[0][0] == "variables.extra.list[1]", refusal
