"""`workflow_engine.v1.HistoryService` over a real server, real services and the real
interpreter on the Temporal dev server (both databases): the same answers as REST."""

from __future__ import annotations

import grpc
from google.protobuf import json_format

from tests.api.grpc.support import refused
from tests.paths import SEED
from tests.services.support import SEED_VARIABLES, eventually
from workflow_engine.api.grpc.generated import history_pb2 as pb
from workflow_engine.api.grpc.generated.history_pb2_grpc import HistoryServiceStub
from workflow_engine.services.container import Services
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.store.tasks import TaskFilters


async def _rejected_seed(services: Services) -> str:
    await services.definitions.deploy(SEED.read_bytes(), fmt=DefinitionFormat.JSON)
    record = await services.instances.start(
        definition_key="userRegistration", variables=SEED_VARIABLES, user_id="u1"
    )

    async def open_tasks() -> list[str]:
        page = await services.tasks.list(TaskFilters(instance_id=record.id, state="created"))
        return [t.id for t in page.items]

    task_id = (await eventually(open_tasks, bool, within=30))[0]
    await services.tasks.complete(task_id, variables={"userValid": False}, user_id="u1")
    await eventually(
        lambda: services.instances.get(record.id),
        lambda d: d.instance.status == "completed",
        within=30,
    )
    return record.id


async def test_history_over_grpc(live_services: Services, live_channel: grpc.aio.Channel) -> None:
    instance_id = await _rejected_seed(live_services)
    stub = HistoryServiceStub(live_channel)

    first = await stub.GetExecutionHistory(
        pb.GetExecutionHistoryRequest(instance_id=instance_id, page_size=3)
    )
    assert [e.sequence for e in first.events] == [1, 2, 3] and first.next_page_token
    assert first.events[0].type == "process.started"
    rest = await stub.GetExecutionHistory(
        pb.GetExecutionHistoryRequest(
            instance_id=instance_id, page_size=1000, page_token=first.next_page_token
        )
    )
    assert rest.events[0].sequence == 4 and rest.next_page_token == ""
    assert rest.events[-1].type == "process.completed"
    only = await stub.GetExecutionHistory(
        pb.GetExecutionHistoryRequest(instance_id=instance_id, types=["activity.*"])
    )
    assert only.events and all(e.type.startswith("activity.") for e in only.events)

    listed = await stub.ListSteps(pb.ListStepsRequest(instance_id=instance_id))
    assert [s.node_id for s in listed.steps] == [
        "start_event",
        "validate_user_task",
        "email_gateway",
        "reject_registration_task",
        "end_event",
    ]
    reject = listed.steps[3]
    detail = await stub.GetStepDetail(
        pb.GetStepDetailRequest(instance_id=instance_id, step_id=reject.step_id)
    )
    assert detail == reject
    # The same content as the service's (and REST's) step.
    same = await live_services.history.step(instance_id, reject.step_id)
    assert (detail.node_id, detail.status, detail.node_type) == (
        same.node_id,
        same.status,
        same.node_type,
    )
    assert json_format.MessageToDict(detail.input) == same.input
    assert detail.ended_at.ToDatetime(tzinfo=same.started_at.tzinfo) == same.ended_at
    assert detail.duration_ms == same.duration_ms
    assert list(detail.event_sequences) == same.event_sequences
    assert detail.attempts[0].activity == "RejectRegistrationActivity"
    assert json_format.MessageToDict(detail.output) == {"rejected": True}
    assert detail.HasField("ended_at") and detail.duration_ms >= 0
    review = listed.steps[1]
    assert review.user_id == "u1"

    historic = await stub.ListHistoricInstances(
        pb.ListHistoricInstancesRequest(definition_key="userRegistration", status="completed")
    )
    assert [i.id for i in historic.items] == [instance_id]
    one = await stub.GetHistoricInstance(pb.GetHistoricInstanceRequest(instance_id=instance_id))
    assert one == historic.items[0]
    assert (one.start_node_id, one.end_node_id) == ("start_event", "end_event")
    assert not (
        await stub.ListHistoricInstances(pb.ListHistoricInstancesRequest(min_duration_ms=10**9))
    ).items

    missing = await refused(
        stub.GetExecutionHistory(pb.GetExecutionHistoryRequest(instance_id="x"))
    )
    assert (missing.code, missing.reason) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
    no_id = await refused(stub.ListSteps(pb.ListStepsRequest()))
    assert no_id.code == grpc.StatusCode.INVALID_ARGUMENT and "instance_id" in no_id.message
    no_step = await refused(
        stub.GetStepDetail(pb.GetStepDetailRequest(instance_id=instance_id, step_id=10**6))
    )
    assert no_step.code == grpc.StatusCode.NOT_FOUND
    bad = await refused(
        stub.ListHistoricInstances(pb.ListHistoricInstancesRequest(status="finished"))
    )
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT and "status" in bad.message
